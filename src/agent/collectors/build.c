/* SPDX-License-Identifier: MIT */
/*
 * build: the identity of what runs on the board.
 *   node_uname_info{sysname,release,version,machine,nodename,domainname} 1
 *     uname(2) on the real root; under --root the same strings from
 *     /proc/sys/kernel/{ostype,osrelease,version,hostname,domainname,arch}.
 *   node_os_info{...} 1 from /etc/os-release (else /usr/lib/os-release).
 *   soak_build_info{build,kernel_release,os_version,rauc_slot,rauc_bundle_version,model} 1
 *     rauc_slot from rauc.slot= on /proc/cmdline; rauc_bundle_version from the
 *     RAUC status file (`rauc_status_file`), in the section of the booted slot
 *     (a bootname is mapped to its slot through `rauc_system_conf`);
 *     model from /proc/device-tree/model. `build` is a template (default
 *     "{kernel_release} {os_version}") or a literal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "build.h"
#include "collector.h"
#include "parsers.h"
#include "procfile.h"
#include "rootfs.h"

#define BUILD_TEMPLATE_DEFAULT "{kernel_release} {os_version}"
#define BUILD_LINE_MAX 1024    /* bytes of one os-release / status file line */
#define BUILD_CMDLINE_MAX 4096 /* bytes of /proc/cmdline kept */
#define BUILD_FILES_KEPT 16    /* files kept open between reads (uname's 6, os-release, ...) */

enum os_key {
    OS_BUILD_ID,
    OS_ID,
    OS_ID_LIKE,
    OS_IMAGE_ID,
    OS_IMAGE_VERSION,
    OS_NAME,
    OS_PRETTY_NAME,
    OS_VARIANT,
    OS_VARIANT_ID,
    OS_VERSION,
    OS_VERSION_CODENAME,
    OS_VERSION_ID,
    _OS_KEY_MAX,
};

static const char *const os_keys[_OS_KEY_MAX] = {
    "BUILD_ID", "ID", "ID_LIKE", "IMAGE_ID", "IMAGE_VERSION", "NAME", "PRETTY_NAME",
    "VARIANT", "VARIANT_ID", "VERSION", "VERSION_CODENAME", "VERSION_ID",
};

static const char *const os_labels[_OS_KEY_MAX] = {
    "build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name",
    "variant", "variant_id", "version", "version_codename", "version_id",
};

enum uname_key { UN_SYSNAME, UN_RELEASE, UN_VERSION, UN_MACHINE, UN_NODENAME, UN_DOMAIN, _UN_MAX };

static const char *const uname_labels[_UN_MAX] = {
    "sysname", "release", "version", "machine", "nodename", "domainname",
};

static const char *const uname_files[_UN_MAX] = {
    "/proc/sys/kernel/ostype",   "/proc/sys/kernel/osrelease", "/proc/sys/kernel/version",
    "/proc/sys/kernel/arch",     "/proc/sys/kernel/hostname",  "/proc/sys/kernel/domainname",
};

struct build_ctx {
    char template[BUILD_VALUE_MAX];
    char status_file[ROOT_PATH_MAX];
    char system_conf[ROOT_PATH_MAX];
    char un[_UN_MAX][BUILD_VALUE_MAX];
    char os[_OS_KEY_MAX][BUILD_VALUE_MAX];
    char slot_name[BUILD_VALUE_MAX];
    struct build_identity id;
    int have_id;
    struct procfile pf;
    struct procfile_cache files;
    char line[BUILD_LINE_MAX];
    char key[128];
    char value[BUILD_VALUE_MAX];
    char cmdline[BUILD_CMDLINE_MAX];
};

static int
build_init(void **ret_ctx)
{
    struct build_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    (void)snprintf(c->template, sizeof(c->template), "%s", BUILD_TEMPLATE_DEFAULT);
    (void)snprintf(c->system_conf, sizeof(c->system_conf), "/etc/rauc/system.conf");
    procfile_init(&c->pf, c->line, sizeof(c->line));
    if (procfile_cache_init(&c->files, BUILD_FILES_KEPT) < 0) {
        free(c);
        return -ENOMEM;
    }
    *ret_ctx = c;
    return 0;
}

static int
set_path(char *dst, size_t size, const char *value)
{
    if (value[0] != '/' || strlen(value) >= size)
        return -EINVAL;
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int
build_configure(void *ctx, const char *key, const char *value)
{
    struct build_ctx *c = ctx;

    if (strcmp(key, "build") == 0) {
        if (!value[0] || strlen(value) >= sizeof(c->template))
            return -EINVAL;
        memcpy(c->template, value, strlen(value) + 1);
        return 0;
    }
    if (strcmp(key, "rauc_status_file") == 0)
        return set_path(c->status_file, sizeof(c->status_file), value);
    if (strcmp(key, "rauc_system_conf") == 0)
        return set_path(c->system_conf, sizeof(c->system_conf), value);
    return -ENOENT;
}

static int
is_real_root(const char *root)
{
    return !root || !root[0] || (root[0] == '/' && root[1] == '\0');
}

static int
read_uname(struct build_ctx *c, const char *root)
{
    int err = 0;

    if (is_real_root(root)) {
        struct utsname u;
        const char *v[_UN_MAX];

        if (uname(&u) < 0)
            return -errno;
        v[UN_SYSNAME] = u.sysname;
        v[UN_RELEASE] = u.release;
        v[UN_VERSION] = u.version;
        v[UN_MACHINE] = u.machine;
        v[UN_NODENAME] = u.nodename;
        v[UN_DOMAIN] = u.domainname;
        for (int i = 0; i < _UN_MAX; i++)
            (void)procfile_copy_line(c->un[i], sizeof(c->un[i]), v[i]);
        return 0;
    }
    for (int i = 0; i < _UN_MAX; i++) {
        ssize_t n = procfile_cache_read_line(&c->files, root, uname_files[i], c->un[i],
                                             sizeof(c->un[i]));

        if (n < 0) {
            c->un[i][0] = '\0';
            /* arch appeared in 5.x and domainname may be absent: not errors. */
            if (i != UN_MACHINE && i != UN_DOMAIN && n != -EFBIG && !err)
                err = (int)n;
        }
    }
    return err;
}

static int
read_os_release(struct build_ctx *c, const char *root)
{
    char *line;
    size_t len;
    int r, err = 0;

    for (int i = 0; i < _OS_KEY_MAX; i++)
        c->os[i][0] = '\0';
    r = procfile_open_cached(&c->pf, &c->files, root, "/etc/os-release");
    if (r == -ENOENT)
        r = procfile_open_cached(&c->pf, &c->files, root, "/usr/lib/os-release");
    if (r < 0)
        return r;
    while ((r = procfile_next(&c->pf, &line, &len)) > 0) {
        int k = osrelease_parse_line(line, c->key, sizeof(c->key), c->value, sizeof(c->value));

        if (k < 0) {
            err = -EINVAL;
            continue;
        }
        for (int i = 0; k > 0 && i < _OS_KEY_MAX; i++)
            if (strcmp(c->key, os_keys[i]) == 0)
                memcpy(c->os[i], c->value, sizeof(c->os[i]));
    }
    if (r < 0)
        err = r;
    procfile_close(&c->pf);
    return err;
}

/* rauc.slot= of /proc/cmdline into c->id.rauc_slot ("" when absent). */
static void
read_rauc_slot(struct build_ctx *c, const char *root)
{
    char *f[256];
    ssize_t n;
    size_t nf;

    c->id.rauc_slot[0] = '\0';
    n = procfile_cache_read(&c->files, root, "/proc/cmdline", c->cmdline, sizeof(c->cmdline));
    if (n < 0 && n != -EFBIG)
        return;
    nf = procfile_split(c->cmdline, f, ARRAY_SIZE(f));
    for (size_t i = 0; i < nf && i < ARRAY_SIZE(f); i++)
        if (strncmp(f[i], "rauc.slot=", 10) == 0)
            (void)procfile_copy_line(c->id.rauc_slot, sizeof(c->id.rauc_slot), f[i] + 10);
}

/*
 * Scan an INI-style RAUC file: for want_key in section "[slot.*]", call back
 * with section name (without "slot.") and value. Returns 0 or negative errno.
 */
typedef int (*ini_fn)(struct build_ctx *c, const char *slot, const char *value);

static int
scan_ini(struct build_ctx *c, const char *root, const char *path, const char *want_key,
         ini_fn fn)
{
    char section[BUILD_VALUE_MAX] = "", *line;
    size_t len;
    int r;

    r = procfile_open_cached(&c->pf, &c->files, root, path);
    if (r < 0)
        return r;
    while ((r = procfile_next(&c->pf, &line, &len)) > 0) {
        char *eq, *k, *v;

        while (*line == ' ' || *line == '\t')
            line++;
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            if (end) {
                *end = '\0';
                (void)procfile_copy_line(section, sizeof(section), line + 1);
            }
            continue;
        }
        eq = strchr(line, '=');
        if (!eq || strncmp(section, "slot.", 5) != 0)
            continue;
        *eq = '\0';
        k = line;
        v = eq + 1;
        (void)procfile_copy_line(c->key, sizeof(c->key), k);
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcmp(c->key, want_key) == 0 && fn(c, section + 5, v))
            break;
    }
    procfile_close(&c->pf);
    return r < 0 ? r : 0;
}

static int
match_bootname(struct build_ctx *c, const char *slot, const char *value)
{
    char v[BUILD_VALUE_MAX];

    (void)procfile_copy_line(v, sizeof(v), value);
    if (strcmp(v, c->id.rauc_slot) != 0)
        return 0;
    (void)procfile_copy_line(c->slot_name, sizeof(c->slot_name), slot);
    return 1;
}

static int
match_version(struct build_ctx *c, const char *slot, const char *value)
{
    if (strcmp(slot, c->slot_name) != 0)
        return 0;
    (void)procfile_copy_line(c->id.rauc_bundle_version, sizeof(c->id.rauc_bundle_version),
                             value);
    return 1;
}

/* statusfile= of [system] in system.conf, when rauc_status_file is not configured. */
static void
find_status_file(struct build_ctx *c, const char *root, char *out, size_t size)
{
    char *line;
    size_t len;
    int in_system = 0;

    out[0] = '\0';
    if (procfile_open_cached(&c->pf, &c->files, root, c->system_conf) < 0)
        return;
    while (procfile_next(&c->pf, &line, &len) > 0) {
        char *f[2];

        if (line[0] == '[') {
            in_system = strncmp(line, "[system]", 8) == 0;
            continue;
        }
        if (!in_system || strncmp(line, "statusfile", 10) != 0)
            continue;
        line += 10;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line != '=' || procfile_split(line + 1, f, 2) != 1 || f[0][0] != '/')
            continue;
        (void)procfile_copy_line(out, size, f[0]);
        break;
    }
    procfile_close(&c->pf);
}

static void
read_rauc_version(struct build_ctx *c, const char *root)
{
    char status[ROOT_PATH_MAX];

    c->id.rauc_bundle_version[0] = '\0';
    if (!c->id.rauc_slot[0])
        return;
    if (c->status_file[0])
        (void)procfile_copy_line(status, sizeof(status), c->status_file);
    else
        find_status_file(c, root, status, sizeof(status));
    if (!status[0])
        return;
    /* rauc.slot= holds a bootname ("A") or a slot name ("rootfs.0"). */
    (void)procfile_copy_line(c->slot_name, sizeof(c->slot_name), c->id.rauc_slot);
    (void)scan_ini(c, root, c->system_conf, "bootname", match_bootname);
    (void)scan_ini(c, root, status, "bundle.version", match_version);
}

static void
read_model(struct build_ctx *c, const char *root)
{
    ssize_t n = procfile_cache_read(&c->files, root, "/proc/device-tree/model", c->value,
                                    sizeof(c->value));

    c->id.model[0] = '\0';
    if (n < 0 && n != -EFBIG)
        return;
    /* NUL-terminated, no newline; strlen stops at the first NUL. */
    (void)procfile_copy_line(c->id.model, sizeof(c->id.model), c->value);
}

/* Expand the build template into c->id.build. */
static void
expand_build(struct build_ctx *c)
{
    const struct {
        const char *name, *value;
    } vars[] = {
        { "kernel_release", c->id.kernel_release },
        { "os_version", c->id.os_version },
        { "version_id", c->os[OS_VERSION_ID] },
        { "version", c->os[OS_VERSION] },
        { "build_id", c->os[OS_BUILD_ID] },
        { "image_id", c->os[OS_IMAGE_ID] },
        { "image_version", c->os[OS_IMAGE_VERSION] },
        { "id", c->os[OS_ID] },
        { "rauc_slot", c->id.rauc_slot },
        { "rauc_bundle_version", c->id.rauc_bundle_version },
        { "model", c->id.model },
        { "hostname", c->id.hostname },
    };
    size_t n = 0, size = sizeof(c->id.build);
    const char *p = c->template;

    while (*p && n + 1 < size) {
        const char *end;
        size_t i;

        if (*p == '{' && (end = strchr(p, '}'))) {
            for (i = 0; i < ARRAY_SIZE(vars); i++) {
                size_t l = strlen(vars[i].name);
                if ((size_t)(end - p - 1) == l && strncmp(p + 1, vars[i].name, l) == 0)
                    break;
            }
            if (i < ARRAY_SIZE(vars)) {
                for (const char *v = vars[i].value; *v && n + 1 < size; v++)
                    c->id.build[n++] = *v;
                p = end + 1;
                continue;
            }
        }
        c->id.build[n++] = *p++;
    }
    while (n > 0 && c->id.build[n - 1] == ' ')
        n--;
    c->id.build[n] = '\0';
}

static int
build_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct build_ctx *c = ctx;
    struct expo_label ul[_UN_MAX], ol[_OS_KEY_MAX];
    int r, err = 0;

    procfile_cache_begin(&c->files);
    r = read_uname(c, root);
    if (r < 0)
        err = r;
    r = read_os_release(c, root);
    if (r < 0 && !err)
        err = r;
    memcpy(c->id.kernel_release, c->un[UN_RELEASE], sizeof(c->id.kernel_release));
    memcpy(c->id.kernel_version, c->un[UN_VERSION], sizeof(c->id.kernel_version));
    memcpy(c->id.machine, c->un[UN_MACHINE], sizeof(c->id.machine));
    memcpy(c->id.hostname, c->un[UN_NODENAME], sizeof(c->id.hostname));
    memcpy(c->id.os_version, c->os[OS_VERSION_ID][0] ? c->os[OS_VERSION_ID] : c->os[OS_VERSION],
           sizeof(c->id.os_version));
    memcpy(c->id.os_pretty_name, c->os[OS_PRETTY_NAME], sizeof(c->id.os_pretty_name));
    read_rauc_slot(c, root);
    read_rauc_version(c, root);
    read_model(c, root);
    expand_build(c);
    procfile_cache_end(&c->files);
    c->have_id = 1;

    if (c->un[UN_RELEASE][0]) {
        for (int i = 0; i < _UN_MAX; i++) {
            ul[i].name = uname_labels[i];
            ul[i].value = c->un[i];
        }
        (void)expo_family(w, "node_uname_info", METRIC_GAUGE,
                          "Labeled system information as provided by the uname system call.");
        (void)expo_sample(w, "node_uname_info", ul, _UN_MAX, 1);
    }
    if (c->os[OS_ID][0] || c->os[OS_NAME][0]) {
        for (int i = 0; i < _OS_KEY_MAX; i++) {
            ol[i].name = os_labels[i];
            ol[i].value = c->os[i];
        }
        (void)expo_family(w, "node_os_info", METRIC_GAUGE,
                          "A metric with a constant '1' value labeled by build_id, id, id_like, "
                          "image_id, image_version, name, pretty_name, variant, variant_id, "
                          "version, version_codename, version_id.");
        (void)expo_sample(w, "node_os_info", ol, _OS_KEY_MAX, 1);
    }
    if (c->id.kernel_release[0] || c->id.os_version[0]) {
        struct expo_label bl[6] = {
            { "build", c->id.build },
            { "kernel_release", c->id.kernel_release },
            { "os_version", c->id.os_version },
            { "rauc_slot", c->id.rauc_slot },
            { "rauc_bundle_version", c->id.rauc_bundle_version },
            { "model", c->id.model },
        };
        (void)expo_family(w, "soak_build_info", METRIC_GAUGE,
                          "The build running on the board; `build` is what verdicts compare.");
        (void)expo_sample(w, "soak_build_info", bl, 6, 1);
    }
    if (expo_error(w))
        return expo_error(w);
    return err;
}

int
build_identity_get(void *ctx, struct build_identity *ret)
{
    struct build_ctx *c = ctx;

    if (!c || !c->have_id)
        return -ENODATA;
    *ret = c->id;
    return 0;
}

static void
build_fini(void *ctx)
{
    struct build_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    procfile_cache_free(&c->files);
    free(c);
}

const struct collector_ops build_collector = {
    .name = "build",
    .help = "build identity: uname, os-release, RAUC slot and bundle, device-tree model",
    .init = build_init,
    .configure = build_configure,
    .start = NULL,
    .read = build_read,
    .fini = build_fini,
};
