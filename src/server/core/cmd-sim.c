/* SPDX-License-Identifier: MIT */
/*
 * cmd-sim.c - `soak sim`: the story's board farm, simulated (src/sim/).
 *   soak sim history --out DIR [--days N] [--step S] [--device NAME]
 *   soak sim live (--root DIR --device NAME | --out DIR) [--speed X] [--interval S] [--ticks N]
 *   soak sim farm --dir DIR [history and live options]
 *   soak sim install --root DIR BUNDLE
 *   soak sim list
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "farm.h"
#include "log.h"
#include "parse.h"
#include "rootfs.h"
#include "sim.h"

#define DEFAULT_DAYS 45.0
#define DEFAULT_STEP 60
#define DEFAULT_SPEED 60.0   /* simulated seconds per real second */
#define DEFAULT_INTERVAL 1.0 /* real seconds between live ticks */
#define DEFAULT_SEED 1
#define INSTALL_FILE "/.sim-install" /* under a live root: the bundle soak sim install asked for */
#define AGENT_STOP_MS 3000           /* SIGTERM, then SIGKILL after this long */

static volatile sig_atomic_t sim_stop;

static void
on_signal(int sig)
{
    (void)sig;
    sim_stop = 1;
}

static void
usage(FILE *f)
{
    size_t n;
    const struct farm_device *d = farm_devices(&n);

    (void)fprintf(
        f,
        "Usage: soak sim history --out DIR [--days N] [--step S] [--device NAME]\n"
        "       soak sim live --root DIR --device NAME [--speed X] [--interval S] [--ticks N]\n"
        "       soak sim live --out DIR [--speed X] [--interval S] [--ticks N]\n"
        "                     [--soakd PATH --listen NAME=ADDR:PORT...]\n"
        "       soak sim farm --dir DIR [--days N] [--step S] [--speed X] [--ticks N]\n"
        "       soak sim install --root DIR BUNDLE\n"
        "       soak sim list\n"
        "\n"
        "The story's board farm, simulated: a 256 MB rock-pi-s (6.12.55 for ~16 and ~22 days,\n"
        "then 6.17.6 leaking filp until it panics after ~4.5 days, rebooting and leaking again),\n"
        "a rock-pi-e and a zero-3e (1 GB, the same leak, slow enough to look fine for weeks; the\n"
        "rock-pi-e also had an update that renamed eth0 to end0 and fell off the network) and a\n"
        "4 GB rock-5b server (OOM-killer bursts after ~9 days). Sensors follow day and night.\n"
        "\n"
        "  history  write DIR/<device>.om per device: OpenMetrics (timestamps in seconds,\n"
        "           # EOF) for the last --days days up to --now, one sample per --step\n"
        "           seconds, with the server's soak_poll_up/soak_poll_duration_seconds;\n"
        "           `soak import --db DB --device NAME DIR/NAME.om` loads it\n"
        "  live     keep a /proc + /sys tree for a device under --root (or one per device\n"
        "           under --out DIR/<device>) updated from --now on, --speed times faster than\n"
        "           real time, for `soakd --root DIR`; stops on SIGINT/SIGTERM or after --ticks.\n"
        "           With --soakd it also runs each board's agent: `PATH --root TREE --listen\n"
        "           ADDR` while the board is up and on the network, stopped while it reboots\n"
        "           or is unreachable (so a server polling it records the outage), started\n"
        "           again on its next boot\n"
        "  farm     both: DIR/history/*.om, then live trees in DIR/roots/<device>\n"
        "  install  install a RAUC bundle on the live board whose tree is DIR and reboot\n"
        "           into it (an `install` command for soak deploy); BUNDLE is a bundle\n"
        "           version, or a path whose name is VERSION.raucb. 2025.12-rc1 renames eth0\n"
        "           to end0: the board drops off the network until RAUC falls back after\n"
        "           %d simulated hours; 2025.12.1 (kernel 6.18.1) does not leak\n"
        "  list     the devices, their boots and builds\n"
        "\n"
        "Options:\n"
        "  --days N       history length in days (default %.0f)\n"
        "  --step S       seconds between history samples (default %d)\n"
        "  --device NAME  only this device\n"
        "  --now T        unix seconds the history ends and live starts (default: now)\n"
        "  --seed N       noise seed (default %d); same seed and --now, same files\n"
        "  --speed X      simulated seconds per real second (default %.0f)\n"
        "  --interval S   real seconds between live updates (default %.1f)\n"
        "  --ticks N      stop live mode after N updates (default: run until stopped)\n"
        "  --soakd PATH   live: run PATH (soakd) for each board while it is reachable\n"
        "  --listen NAME=ADDR:PORT\n"
        "                 live with --soakd: where NAME's agent listens (one per device;\n"
        "                 just ADDR:PORT with --device)\n"
        "\n"
        "Devices:",
        FARM_FALLBACK_S / 3600, DEFAULT_DAYS, DEFAULT_STEP, DEFAULT_SEED, DEFAULT_SPEED, DEFAULT_INTERVAL);
    for (size_t i = 0; i < n; i++)
        (void)fprintf(f, " %s", d[i].name);
    {
        size_t nb;
        const struct farm_build *b = farm_builds(&nb);
        (void)fprintf(f, "\nBundles:");
        for (size_t i = 0; i < nb; i++)
            (void)fprintf(f, " %s", b[i].bundle_version);
    }
    (void)fprintf(f, "\n\nExit codes: 0 success, 1 failure (I/O), 2 usage error.\n");
}

struct sim_opts {
    const char *mode;
    const char *out, *root, *dir, *device;
    double days, speed, interval;
    int64_t step, now;
    uint64_t seed, ticks;
    int have_now;
    size_t n_listen;
    const char *soakd;       /* live: run this agent per board */
    const char *listen[16];  /* live with soakd: per device */
};

/* A board's agent run by live mode (--soakd). */
struct agent {
    pid_t pid;      /* 0: not running */
    int boot_index; /* the boot it was started in */
    int state;      /* what was logged last: 0 nothing, 1 up, 2 rebooting, 3 unreachable */
};

/* mkdir -p */
static int
mkdir_one(const char *path)
{
    _cleanup_free_ char *p = strdup(path);

    if (!p)
        return -ENOMEM;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int
run_history(const struct farm *f, const struct sim_opts *o, const char *outdir)
{
    size_t n;
    const struct farm_device *d = farm_devices(&n);
    int64_t to = farm_now(f), from = to - (int64_t)llround(o->days * 86400.0);
    int r = mkdir_one(outdir);

    if (r < 0) {
        log_errno(r, "cannot create %s", outdir);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *path = NULL;
        FILE *fp;
        long written;

        if (o->device && strcmp(o->device, d[i].name) != 0)
            continue;
        if (asprintf(&path, "%s/%s.om", outdir, d[i].name) < 0) {
            path = NULL;
            log_warnx("out of memory");
            return 1;
        }
        fp = fopen(path, "we");
        if (!fp) {
            log_warn("cannot write %s", path);
            return 1;
        }
        written = sim_history_write(f, i, from, to, o->step, fp);
        if (fclose(fp) != 0 && written >= 0)
            written = -EIO;
        if (written < 0) {
            log_errno((int)written, "writing %s failed", path);
            (void)unlink(path);
            return 1;
        }
        log_info("%s: %ld samples, %.1f days every %llds -> %s", d[i].name, written,
                 (double)(to - MAX(from, farm_first_s(f, i))) / 86400.0, (long long)o->step, path);
    }
    return 0;
}

/* Seconds since t0 on the monotonic clock. */
static double
elapsed_s(const struct timespec *t0)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Start a board's agent: soakd --root ROOT --listen ADDR, killed with us (PDEATHSIG). */
static int
agent_start(const char *soakd, const char *root, const char *listen, pid_t *ret)
{
    pid_t parent = getpid(), pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* single-threaded: malloc after fork is safe here */
        char *argv[] = {strdup(soakd), strdup("--root"), strdup(root), strdup("--listen"),
                        strdup(listen), NULL};
        sigset_t none;

        (void)sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0); /* the simulator died before the prctl */
        execv(soakd, argv);
        (void)fprintf(stderr, "soak sim: cannot run %s: %s\n", soakd, strerror(errno));
        _exit(127);
    }
    *ret = pid;
    return 0;
}

/* Stop a board's agent: SIGTERM, SIGKILL after AGENT_STOP_MS, reaped. */
static void
agent_stop(struct agent *a)
{
    struct timespec ts = {0, 20 * 1000 * 1000};

    if (a->pid <= 0)
        return;
    (void)kill(a->pid, SIGTERM);
    for (int ms = 0; ms < AGENT_STOP_MS; ms += 20) {
        pid_t w = waitpid(a->pid, NULL, WNOHANG);
        if (w == a->pid || (w < 0 && errno == ECHILD)) {
            a->pid = 0;
            return;
        }
        (void)nanosleep(&ts, NULL);
    }
    (void)kill(a->pid, SIGKILL);
    (void)waitpid(a->pid, NULL, 0);
    a->pid = 0;
}

/*
 * Keep device dev's agent in step with the board at t: running while it is up and on the
 * network, restarted when it rebooted, stopped otherwise. 0 or a negative errno (fork).
 */
static int
agent_sync(const struct farm *f, size_t dev, int64_t t, const struct sim_opts *o,
           const char *root, struct agent *a)
{
    const struct farm_device *d;
    struct farm_state st;
    size_t n;
    int state, r = farm_eval(f, dev, t, &st);

    if (r < 0)
        return r;
    d = farm_devices(&n);
    if (a->pid > 0) {
        int status;
        pid_t w = waitpid(a->pid, &status, WNOHANG);
        if (w == a->pid) {
            log_warnx("%s: soakd (pid %d) ended (status %d); started again", d[dev].name,
                      (int)a->pid, status);
            a->pid = 0;
        }
    }
    if (a->pid > 0 && (!st.up || !st.reachable || st.boot->index != a->boot_index))
        agent_stop(a);
    state = !st.up ? 2 : !st.reachable ? 3 : 1;
    if (state != a->state) {
        if (state == 2)
            log_info("%s: rebooting; soakd stopped", d[dev].name);
        else if (state == 3)
            log_info("%s: booted %s, whose network interface never comes up: unreachable, "
                     "no soakd",
                     d[dev].name, farm_builds(&n)[st.boot->build].label);
        a->state = state;
    }
    if (a->pid == 0 && state == 1) {
        r = agent_start(o->soakd, root, o->listen[dev], &a->pid);
        if (r < 0)
            return r;
        a->boot_index = st.boot->index;
        log_info("%s: boot %d on %s; soakd (pid %d) serves %s on %s", d[dev].name,
                 st.boot->index, farm_builds(&n)[st.boot->build].label, (int)a->pid, root,
                 o->listen[dev]);
    }
    return 0;
}

/*
 * A bundle `soak sim install` left under root: install it on device dev at t. The request
 * stays while the board reboots (-EAGAIN) and is taken on its next tick.
 */
static void
take_install(struct farm *f, size_t dev, int64_t t, const char *root)
{
    char bundle[128], p[ROOT_PATH_MAX];
    ssize_t n = root_read_line(root, INSTALL_FILE, bundle, sizeof(bundle));
    size_t nd;
    const struct farm_device *d = farm_devices(&nd);
    int64_t start;
    int build, r;

    if (n == -ENOENT)
        return;
    build = n < 0 ? -ENOENT : farm_build_find_bundle(bundle);
    r = build < 0 ? build : farm_install(f, dev, t, build, &start);
    if (r == -EAGAIN)
        return;
    if (r < 0)
        log_errno(r, "%s: cannot install '%s'", d[dev].name, n < 0 ? "?" : bundle);
    else
        log_info("%s: installing %s; rebooting into %s", d[dev].name, bundle,
                 farm_builds(&nd)[build].label);
    if (root_path(root, INSTALL_FILE, p, sizeof(p)) == 0)
        (void)unlink(p);
}

/* live: roots[i] != NULL selects device i with roots[i] as its root. */
static int
run_live(struct farm *f, const struct sim_opts *o, char **roots, size_t nroots)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct agent agents[ARRAY_SIZE(o->listen)] = {0};
    struct timespec ts, t0;
    uint64_t tick = 0;
    int rc = 0;

    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    if (nroots > ARRAY_SIZE(agents))
        nroots = ARRAY_SIZE(agents);
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; !sim_stop && rc == 0; tick++) {
        /* simulated time follows the real clock, however long writing the trees takes */
        int64_t t = farm_now(f) + (int64_t)llround(elapsed_s(&t0) * o->speed);
        double next;
        size_t n;
        const struct farm_device *d = farm_devices(&n);

        for (size_t i = 0; i < nroots && i < n && rc == 0; i++) {
            int r;
            if (!roots[i])
                continue;
            take_install(f, i, t, roots[i]);
            r = sim_live_write(f, i, t, o->speed, roots[i]);
            if (r < 0) {
                log_errno(r, "%s: writing the tree under %s failed", d[i].name, roots[i]);
                rc = 1;
                break;
            }
            if (o->soakd && (r = agent_sync(f, i, t, o, roots[i], &agents[i])) < 0) {
                log_errno(r, "%s: cannot start %s", d[i].name, o->soakd);
                rc = 1;
            }
        }
        if (tick == 0 && rc == 0) {
            size_t k = 0;
            for (size_t i = 0; i < nroots; i++)
                k += roots[i] != NULL;
            log_info("live: %zu tree(s) written; %.0fx real time, every %.2fs", k, o->speed,
                     o->interval);
        }
        if (o->ticks && tick + 1 >= o->ticks)
            break;
        /* the next tick on the interval's grid (skipping those already missed) */
        next = o->interval * floor(elapsed_s(&t0) / o->interval + 1);
        next -= elapsed_s(&t0);
        ts.tv_sec = (time_t)next;
        ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) < 0 && !sim_stop)
            ;
    }
    for (size_t i = 0; i < nroots; i++)
        agent_stop(&agents[i]);
    return rc;
}

/* soak sim install --root DIR BUNDLE: leave the request for the live loop. */
static int
run_install(const char *root, const char *arg)
{
    char bundle[128], p[ROOT_PATH_MAX], tmp[ROOT_PATH_MAX], line[160];
    const char *base = strrchr(arg, '/');
    size_t len, nb;
    const struct farm_build *b = farm_builds(&nb);
    struct stat sb;
    int fd, build;

    base = base ? base + 1 : arg;
    len = strlen(base);
    if (len > 6 && strcmp(base + len - 6, ".raucb") == 0)
        len -= 6;
    if (len == 0 || len >= sizeof(bundle)) {
        log_warnx("install: bad bundle '%s'", arg);
        return 1;
    }
    memcpy(bundle, base, len);
    bundle[len] = '\0';
    build = farm_build_find_bundle(bundle);
    if (build < 0) {
        log_warnx("install: unknown bundle '%s' (see soak sim --help: Bundles)", bundle);
        return 1;
    }
    if (root_path(root, "/proc/meminfo", p, sizeof(p)) < 0 || stat(p, &sb) < 0) {
        log_warnx("install: %s is not a live board's tree (no proc/meminfo; is soak sim live "
                  "running?)",
                  root);
        return 1;
    }
    if (root_path(root, INSTALL_FILE, p, sizeof(p)) < 0 ||
        root_path(root, INSTALL_FILE ".tmp", tmp, sizeof(tmp)) < 0) {
        log_warnx("install: path too long: %s", root);
        return 1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    len = (size_t)snprintf(line, sizeof(line), "%s\n", bundle);
    if (fd < 0 || write(fd, line, len) != (ssize_t)len || close(fd) < 0 || rename(tmp, p) < 0) {
        log_warn("install: cannot write %s", p);
        if (fd >= 0)
            (void)unlink(tmp);
        return 1;
    }
    (void)printf("installed %s (%s) on %s; the board reboots into it\n", bundle, b[build].label,
                 root);
    return 0;
}

static int
run_list(const struct farm *f)
{
    size_t n, nb;
    const struct farm_device *d = farm_devices(&n);
    const struct farm_build *b = farm_builds(&nb);
    static const char *const ends[] = {"update", "fallback", "panic", "running"};

    for (size_t i = 0; i < n; i++) {
        size_t nboots;
        const struct farm_boot *boots = farm_boots(f, i, &nboots);
        (void)printf("%s (%s, MemTotal %u kB, leak %.0f kB/day on a leaking build)\n", d[i].name,
                     d[i].model, d[i].mem_total_kb, d[i].leak_kb_per_day);
        for (size_t k = 0; k < nboots; k++) {
            if (boots[k].start_s > farm_now(f))
                break;
            (void)printf(
                "  boot %-2d %-40s %+8.2f d  %6.2f d  slot %c  %s\n", boots[k].index,
                b[boots[k].build].label, (double)(boots[k].start_s - farm_now(f)) / 86400.0,
                (double)(MIN(boots[k].end_s, farm_now(f)) - boots[k].start_s) / 86400.0,
                boots[k].slot, boots[k].end_s > farm_now(f) ? "running" : ends[boots[k].end]);
        }
    }
    return 0;
}

static int
path_join_alloc(char **ret, const char *a, const char *b)
{
    if (asprintf(ret, "%s/%s", a, b) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

int
cmd_sim(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"root", required_argument, NULL, 'r'},
        {"dir", required_argument, NULL, 'D'},
        {"device", required_argument, NULL, 'd'},
        {"days", required_argument, NULL, 'n'},
        {"step", required_argument, NULL, 's'},
        {"now", required_argument, NULL, 'N'},
        {"seed", required_argument, NULL, 'S'},
        {"speed", required_argument, NULL, 'x'},
        {"interval", required_argument, NULL, 'i'},
        {"ticks", required_argument, NULL, 't'},
        {"soakd", required_argument, NULL, 'A'},
        {"listen", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sim_opts o = {.days = DEFAULT_DAYS,
                         .step = DEFAULT_STEP,
                         .speed = DEFAULT_SPEED,
                         .interval = DEFAULT_INTERVAL,
                         .seed = DEFAULT_SEED};
    struct farm *f = NULL;
    size_t ndev;
    const struct farm_device *devs = farm_devices(&ndev);
    char *roots[16] = {0};
    const char *listen_args[16] = {0};
    int c, rc = 2;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    o.mode = argv[1];
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
        uint64_t u;
        int64_t s;
        switch (c) {
        case 'o':
            o.out = optarg;
            break;
        case 'r':
            o.root = optarg;
            break;
        case 'D':
            o.dir = optarg;
            break;
        case 'd':
            o.device = optarg;
            break;
        case 'n':
            if (parse_double(optarg, &o.days) < 0 || !(o.days > 0) || o.days > 365) {
                log_warnx("--days: expected a number of days in (0, 365], got '%s'", optarg);
                return 2;
            }
            break;
        case 's':
            if (parse_i64(optarg, &s) < 0 || s < 1 || s > 86400) {
                log_warnx("--step: expected seconds in [1, 86400], got '%s'", optarg);
                return 2;
            }
            o.step = s;
            break;
        case 'N':
            if (parse_i64(optarg, &s) < 0 || s < 86400LL * 365 || s > 4102444800LL) {
                log_warnx("--now: expected unix seconds (after 1971, before 2100), got '%s'",
                          optarg);
                return 2;
            }
            o.now = s;
            o.have_now = 1;
            break;
        case 'S':
            if (parse_u64(optarg, &u) < 0) {
                log_warnx("--seed: expected an unsigned number, got '%s'", optarg);
                return 2;
            }
            o.seed = u;
            break;
        case 'x':
            if (parse_double(optarg, &o.speed) < 0 || !(o.speed > 0) || o.speed > 1e7) {
                log_warnx("--speed: expected a factor in (0, 1e7], got '%s'", optarg);
                return 2;
            }
            break;
        case 'i':
            if (parse_double(optarg, &o.interval) < 0 || !(o.interval >= 0.01) ||
                o.interval > 3600) {
                log_warnx("--interval: expected seconds in [0.01, 3600], got '%s'", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_u64(optarg, &u) < 0 || u == 0) {
                log_warnx("--ticks: expected a positive count, got '%s'", optarg);
                return 2;
            }
            o.ticks = u;
            break;
        case 'A':
            o.soakd = optarg;
            break;
        case 'L':
            if (o.n_listen >= ARRAY_SIZE(listen_args)) {
                log_warnx("--listen: too many");
                return 2;
            }
            listen_args[o.n_listen++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (strcmp(o.mode, "install") == 0) {
        if (!o.root || optind + 2 != argc) {
            log_warnx("sim install needs --root DIR and one BUNDLE");
            return 2;
        }
        return run_install(o.root, argv[optind + 1]);
    }
    if (optind + 1 < argc) {
        log_warnx("unexpected argument '%s'", argv[optind + 1]);
        return 2;
    }
    if (o.device && farm_device_find(o.device) < 0) {
        log_warnx("unknown device '%s' (see soak sim --help)", o.device);
        return 2;
    }
    for (size_t i = 0; i < o.n_listen; i++) {
        const char *eq = strchr(listen_args[i], '=');
        int dev;
        if (eq) {
            _cleanup_free_ char *name = strndup(listen_args[i], (size_t)(eq - listen_args[i]));
            dev = name ? farm_device_find(name) : -ENOMEM;
        } else
            dev = o.device ? farm_device_find(o.device) : -EINVAL;
        if (dev < 0 || (size_t)dev >= ARRAY_SIZE(o.listen) || !(eq ? eq[1] : listen_args[i][0])) {
            log_warnx("--listen: expected NAME=ADDR:PORT with a device name (or ADDR:PORT "
                      "with --device), got '%s'",
                      listen_args[i]);
            return 2;
        }
        o.listen[dev] = eq ? eq + 1 : listen_args[i];
    }
    if (o.n_listen && !o.soakd) {
        log_warnx("--listen is for the agents that --soakd runs");
        return 2;
    }
    if (o.soakd) {
        if (access(o.soakd, X_OK) < 0) {
            log_warn("--soakd: cannot run %s", o.soakd);
            return 2;
        }
        for (size_t i = 0; i < ndev && i < ARRAY_SIZE(o.listen); i++)
            if ((!o.device || strcmp(o.device, devs[i].name) == 0) && !o.listen[i]) {
                log_warnx("--soakd: no --listen %s=ADDR:PORT for %s", devs[i].name,
                          devs[i].name);
                return 2;
            }
    }
    if (!o.have_now)
        o.now = (int64_t)time(NULL);
    o.now = o.now / o.step * o.step;
    if (farm_new(o.seed, o.now, &f) < 0) {
        log_warnx("out of memory");
        return 1;
    }
    if (ndev > ARRAY_SIZE(roots))
        ndev = ARRAY_SIZE(roots);

    if (strcmp(o.mode, "list") == 0) {
        rc = run_list(f);
    } else if (strcmp(o.mode, "history") == 0) {
        if (!o.out)
            log_warnx("sim history needs --out DIR");
        else
            rc = run_history(f, &o, o.out);
    } else if (strcmp(o.mode, "live") == 0) {
        if (o.root && o.device) {
            roots[farm_device_find(o.device)] = strdup(o.root);
            rc = roots[farm_device_find(o.device)] ? 0 : 1;
        } else if (o.out && !o.root) {
            rc = mkdir_one(o.out) < 0 ? 1 : 0;
            for (size_t i = 0; rc == 0 && i < ndev; i++)
                if (!o.device || strcmp(o.device, devs[i].name) == 0)
                    rc = path_join_alloc(&roots[i], o.out, devs[i].name) < 0 ? 1 : 0;
        } else
            log_warnx("sim live needs --root DIR --device NAME, or --out DIR");
        if (rc == 0)
            rc = run_live(f, &o, roots, ndev);
        else if (rc == 1)
            log_warn("cannot create %s", o.out);
    } else if (strcmp(o.mode, "farm") == 0) {
        _cleanup_free_ char *hist = NULL, *rootdir = NULL;
        if (!o.dir)
            log_warnx("sim farm needs --dir DIR");
        else if (mkdir_one(o.dir) < 0 || path_join_alloc(&hist, o.dir, "history") < 0 ||
                 path_join_alloc(&rootdir, o.dir, "roots") < 0 || mkdir_one(rootdir) < 0) {
            log_warn("cannot create %s", o.dir);
            rc = 1;
        } else {
            rc = run_history(f, &o, hist);
            for (size_t i = 0; rc == 0 && i < ndev; i++)
                if (!o.device || strcmp(o.device, devs[i].name) == 0)
                    rc = path_join_alloc(&roots[i], rootdir, devs[i].name) < 0 ? 1 : 0;
            if (rc == 0)
                rc = run_live(f, &o, roots, ndev);
        }
    } else {
        log_warnx("unknown sim mode '%s' (history, live, farm, install, list)", o.mode);
    }
    for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
        free(roots[i]);
    f = farm_free(f);
    return rc;
}
