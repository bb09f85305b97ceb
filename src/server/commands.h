/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the subcommands of `soak`. Each lives in its own cmd-NAME.c,
 * takes argc/argv with argv[0] = the subcommand name, and returns the exit code:
 * 0 success, 1 runtime failure (or the command's own meaning, e.g. verdict),
 * 2 usage or configuration error.
 */
#ifndef SOAK_COMMANDS_H
#define SOAK_COMMANDS_H

struct soak_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `soak --help` */
};

/* The table in soak.c, NULL-terminated. */
extern const struct soak_command soak_commands[];

/* Add one declaration per command, keeping the list sorted. */
int cmd_alerts(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_judge(int argc, char **argv);
int cmd_kmemleak(int argc, char **argv);
int cmd_leak(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_slab(int argc, char **argv);
int cmd_verdict(int argc, char **argv);
int cmd_web(int argc, char **argv);

#endif
