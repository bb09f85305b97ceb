/* SPDX-License-Identifier: MIT */
#include "deploy.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "expo-parse.h"

#define DEPLOY_BODY_MAX (8u * 1024 * 1024) /* largest /metrics body read, bytes */

static const char *const outcome_names[_DEPLOY_OUTCOME_MAX] = {
    [DEPLOY_OK] = "ok",
    [DEPLOY_INSTALL_FAILED] = "install_failed",
    [DEPLOY_UNREACHABLE_BEFORE] = "unreachable_before",
    [DEPLOY_NOT_BACK] = "not_back",
    [DEPLOY_OLD_BUILD] = "old_build",
    [DEPLOY_WRONG_BUILD] = "wrong_build",
    [DEPLOY_MISSING_IFACE] = "missing_interface",
    [DEPLOY_MISSING_SENSOR] = "missing_sensor",
};

const char *
deploy_outcome_name(enum deploy_outcome o)
{
    if ((unsigned)o >= _DEPLOY_OUTCOME_MAX)
        return "unknown";
    return outcome_names[o];
}

static size_t
body_cb(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;

    if (buf_append(b, p, size * n) < 0)
        return 0; /* aborts the transfer: body too large */
    return size * n;
}

/* GET url into b. 0, or -EIO with a message in err. */
static int
http_get(const char *url, const char *token, double timeout, struct buf *b, char *err,
         size_t errlen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[512];
    long code = 0;
    CURLcode rc;

    if (!c)
        return -ENOMEM;
    buf_reset(b);
    (void)curl_easy_setopt(c, CURLOPT_URL, url);
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    (void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    (void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(MIN(timeout, 5.0) * 1000));
    (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (token && *token) {
        (void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
        (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        (void)snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return -EIO;
    }
    if (code != 200) {
        (void)snprintf(err, errlen, "HTTP %ld", code);
        return -EIO;
    }
    return 0;
}

static void
add_name(char names[][DEPLOY_NAME_LEN], size_t *n, const char *name)
{
    if (*n >= DEPLOY_NAMES_MAX)
        return;
    (void)snprintf(names[*n], DEPLOY_NAME_LEN, "%s", name);
    (*n)++;
}

static const char *
label_of(const struct expo_parsed_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

static int
metrics_cb(void *ctx, const struct expo_parsed_sample *s)
{
    struct deploy_state *st = ctx;
    const char *v;

    if (strcmp(s->name, "node_network_up") == 0 && s->value == 1) {
        v = label_of(s, "device");
        if (v && strcmp(v, "lo") != 0)
            add_name(st->ifaces, &st->n_ifaces, v);
    } else if (strcmp(s->name, "soak_sensor_up") == 0 && s->value == 1) {
        v = label_of(s, "sensor");
        if (v)
            add_name(st->sensors, &st->n_sensors, v);
    } else if (strcmp(s->name, "soak_boot_info") == 0 && !st->boot_id[0]) {
        v = label_of(s, "boot_id");
        if (v)
            (void)snprintf(st->boot_id, sizeof(st->boot_id), "%s", v);
    } else if (strcmp(s->name, "soak_build_info") == 0 && !st->build[0]) {
        v = label_of(s, "build");
        if (v)
            (void)snprintf(st->build, sizeof(st->build), "%s", v);
    }
    return 0;
}

/* Split url into the agent's base ("http://h:p") and its metrics URL. */
static void
agent_urls(const char *url, char *base, size_t bn, char *metrics, size_t mn)
{
    size_t n = strlen(url);
    const char *suffix = "/metrics";
    size_t sl = strlen(suffix);

    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= sl && strncmp(url + n - sl, suffix, sl) == 0)
        n -= sl;
    (void)snprintf(base, bn, "%.*s", (int)n, url);
    (void)snprintf(metrics, mn, "%.*s/metrics", (int)n, url);
}

void
deploy_probe(const char *url, const char *token, double timeout, struct deploy_state *ret)
{
    char base[1024], murl[1100], iurl[1100];
    struct buf b;
    struct expo_parse_opts opts = {.on_sample = metrics_cb, .ctx = ret};

    memset(ret, 0, sizeof(*ret));
    agent_urls(url, base, sizeof(base), murl, sizeof(murl));
    (void)snprintf(iurl, sizeof(iurl), "%s/info", base);
    buf_init(&b, DEPLOY_BODY_MAX);
    if (http_get(iurl, token, timeout, &b, ret->error, sizeof(ret->error)) == 0) {
        json_error_t jerr;
        json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
        const char *s;

        ret->reachable = 1;
        if (j && (s = json_string_value(json_object_get(j, "boot_id"))))
            (void)snprintf(ret->boot_id, sizeof(ret->boot_id), "%s", s);
        if (j && (s = json_string_value(json_object_get(j, "build"))))
            (void)snprintf(ret->build, sizeof(ret->build), "%s", s);
        json_decref(j);
    }
    if (http_get(murl, token, timeout, &b, ret->error, sizeof(ret->error)) == 0) {
        ret->reachable = 1;
        if (expo_parse_buffer(&opts, buf_str(&b), b.len, NULL, 0) < 0 && !ret->boot_id[0])
            (void)snprintf(ret->error, sizeof(ret->error), "garbage from %.200s", murl);
    }
    if (ret->reachable)
        ret->error[0] = '\0';
    buf_free(&b);
}

static int
has_name(char names[][DEPLOY_NAME_LEN], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* Join names into out as "a, b, c" (or "none"). */
static void
join_names(char names[][DEPLOY_NAME_LEN], size_t n, char *out, size_t size)
{
    struct buf b;

    buf_init(&b, size - 1);
    b.data = out;
    b.cap = size;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (buf_printf(&b, "%s%s", i ? ", " : "", names[i]) < 0)
            break;
    if (n == 0)
        (void)snprintf(out, size, "none");
}

enum deploy_outcome
deploy_judge(const struct deploy_state *before, const struct deploy_state *after, int not_back,
             const char *expected_build, char *msg, size_t size)
{
    char list[512];

    if (not_back) {
        join_names((char(*)[DEPLOY_NAME_LEN])before->ifaces, before->n_ifaces, list,
                   sizeof(list));
        if (after->reachable)
            (void)snprintf(msg, size,
                           "did not reboot: still boot id %s after the update; last seen with "
                           "interfaces %s up",
                           after->boot_id, list);
        else
            (void)snprintf(msg, size,
                           "unreachable after update (%s); last seen with interfaces %s up",
                           after->error[0] ? after->error : "no answer", list);
        return DEPLOY_NOT_BACK;
    }
    if (expected_build && *expected_build && strcmp(after->build, expected_build) != 0) {
        if (strcmp(after->build, before->build) == 0) {
            (void)snprintf(msg, size,
                           "came back on the old build '%s', expected '%s' (RAUC fell back?)",
                           after->build, expected_build);
            return DEPLOY_OLD_BUILD;
        }
        (void)snprintf(msg, size, "came back on build '%s', expected '%s'", after->build,
                       expected_build);
        return DEPLOY_WRONG_BUILD;
    }
    if ((!expected_build || !*expected_build) && before->build[0] &&
        strcmp(after->build, before->build) == 0) {
        (void)snprintf(msg, size, "came back on the old build '%s' (RAUC fell back?)",
                       after->build);
        return DEPLOY_OLD_BUILD;
    }
    for (size_t i = 0; i < before->n_ifaces; i++) {
        if (!has_name((char(*)[DEPLOY_NAME_LEN])after->ifaces, after->n_ifaces,
                      before->ifaces[i])) {
            join_names((char(*)[DEPLOY_NAME_LEN])after->ifaces, after->n_ifaces, list,
                       sizeof(list));
            (void)snprintf(msg, size,
                           "interface %s was up before the update and is not now (up: %s)",
                           before->ifaces[i], list);
            return DEPLOY_MISSING_IFACE;
        }
    }
    for (size_t i = 0; i < before->n_sensors; i++) {
        if (!has_name((char(*)[DEPLOY_NAME_LEN])after->sensors, after->n_sensors,
                      before->sensors[i])) {
            (void)snprintf(msg, size, "sensor %s read before the update and does not now",
                           before->sensors[i]);
            return DEPLOY_MISSING_SENSOR;
        }
    }
    (void)snprintf(msg, size,
                   "back on build '%s' with boot id %s, %zu interfaces up, %zu sensors reading",
                   after->build, after->boot_id, after->n_ifaces, after->n_sensors);
    return DEPLOY_OK;
}

static double
now_mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep the last size-1 bytes of what the child wrote to stderr. */
static void
tail_append(char *tail, size_t size, const char *p, size_t n)
{
    size_t have = strlen(tail);

    if (size == 0)
        return;
    if (n >= size - 1) {
        memcpy(tail, p + n - (size - 1), size - 1);
        tail[size - 1] = '\0';
        return;
    }
    if (have + n > size - 1) {
        size_t drop = have + n - (size - 1);
        memmove(tail, tail + drop, have - drop);
        have -= drop;
    }
    memcpy(tail + have, p, n);
    tail[have + n] = '\0';
}

int
deploy_run(char *const argv[], double timeout, char *errtail, size_t size)
{
    int pfd[2], status = 0, killed = 0;
    double deadline = now_mono() + timeout;
    pid_t pid;

    if (size)
        errtail[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        int e = errno;
        (void)close(pfd[0]);
        (void)close(pfd[1]);
        return -e;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            (void)dup2(devnull, 0);
        (void)dup2(pfd[1], 2);
        (void)setpgid(0, 0);
        execvp(argv[0], argv);
        (void)fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    (void)close(pfd[1]);
    for (;;) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        double left = deadline - now_mono();
        char chunk[512];
        pid_t w;

        w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            /* Drain what it wrote before exiting (the write end is closed now). */
            ssize_t n;
            while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0)
                tail_append(errtail, size, chunk, (size_t)n);
            break;
        }
        if (left <= 0 && killed < 2) {
            (void)kill(-pid, killed ? SIGKILL : SIGTERM);
            killed++;
            deadline = now_mono() + 2;
            continue;
        }
        if (poll(&p, 1, (int)(MIN(MAX(left, 0.05), 0.2) * 1000)) > 0) {
            ssize_t n = read(pfd[0], chunk, sizeof(chunk));
            if (n > 0)
                tail_append(errtail, size, chunk, (size_t)n);
            else if (n == 0) {
                /* stderr closed; wait for the exit without spinning */
                p.fd = -1;
                (void)usleep(20000);
            }
        }
    }
    (void)close(pfd[0]);
    if (killed)
        return -ETIMEDOUT;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -EIO;
}
