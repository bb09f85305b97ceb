/* SPDX-License-Identifier: MIT */
/*
 * net: network interfaces of /sys/class/net: node_network_up{device}
 * (operstate "up"), node_network_carrier{device} (when readable: the kernel
 * refuses it with EINVAL on an interface that is administratively down) and
 * soak_network_info{device,operstate,address} 1 with the MAC from sysfs.
 * IPv4/IPv6 addresses come from getifaddrs(3), which asks the running kernel,
 * so they are reported only when the root is the real "/" (never for --root).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "collector.h"
#include "conf.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define NET_IFACES_DEFAULT 64
#define NET_IFACES_LIMIT 4096
#define NET_ADDRS_MAX 256 /* addresses reported per read */
#define NET_VALUE_MAX 128 /* bytes of operstate/address kept */
#define NET_IFACES_KEPT 32 /* interfaces whose files stay open between reads */

struct net_iface {
    char name[PROCFILE_DIRNAME_MAX];
    char oper[NET_VALUE_MAX];
    char addr[NET_VALUE_MAX];
    int carrier; /* 0/1, -1 unknown */
};

/* What an entry of the listing is, found once per listing read. */
enum { NET_ENTRY_UNKNOWN, NET_ENTRY_DIR, NET_ENTRY_OTHER };

struct net_ctx {
    size_t max_ifaces;
    struct procfile_dir dir;
    struct procfile_cache files; /* operstate, address, carrier of each interface */
    unsigned char *kind;         /* per listed entry: NET_ENTRY_* */
    unsigned long kind_lists;    /* dir.lists the kinds belong to */
    struct net_iface *ifs;
    size_t n;
    char path[ROOT_PATH_MAX];
    char value[NET_VALUE_MAX];
};

static int
net_init(void **ret_ctx)
{
    struct net_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->max_ifaces = NET_IFACES_DEFAULT;
    *ret_ctx = c;
    return 0;
}

static int
net_configure(void *ctx, const char *key, const char *value)
{
    struct net_ctx *c = ctx;
    uint64_t v;

    if (strcmp(key, "max_interfaces") != 0)
        return -ENOENT;
    if (conf_uint(value, &v) < 0 || v == 0 || v > NET_IFACES_LIMIT)
        return -EINVAL;
    if (c->ifs)
        return -EBUSY;
    c->max_ifaces = v;
    return 0;
}

static int
net_start(void *ctx, const char *root)
{
    struct net_ctx *c = ctx;

    (void)root;
    if (c->ifs)
        return 0;
    c->ifs = calloc(c->max_ifaces, sizeof(*c->ifs));
    c->kind = calloc(c->max_ifaces, sizeof(*c->kind));
    if (!c->ifs || !c->kind || procfile_dir_init(&c->dir, c->max_ifaces) < 0 ||
        procfile_cache_init(&c->files, 3 * MIN(c->max_ifaces, (size_t)NET_IFACES_KEPT)) < 0) {
        free(c->ifs);
        c->ifs = NULL;
        free(c->kind);
        c->kind = NULL;
        procfile_dir_free(&c->dir);
        procfile_cache_free(&c->files);
        return -ENOMEM;
    }
    return 0;
}

static int
is_real_root(const char *root)
{
    return !root || !root[0] || (root[0] == '/' && root[1] == '\0');
}

/* Read /sys/class/net/<ifname>/<file> into out. Length or negative errno. */
static ssize_t
read_attr(struct net_ctx *c, const char *root, const char *ifname, const char *file, char *out,
          size_t size)
{
    char rel[PROCFILE_DIRNAME_MAX + 64];

    (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s/%s", ifname, file);
    return procfile_cache_read_line(&c->files, root, rel, out, size);
}

static void
write_addresses(struct expo_writer *w)
{
    struct ifaddrs *ifa = NULL;
    int family = 0, count = 0;

    if (getifaddrs(&ifa) < 0)
        return;
    for (struct ifaddrs *p = ifa; p && count < NET_ADDRS_MAX; p = p->ifa_next) {
        char addr[INET6_ADDRSTRLEN];
        const char *fam;
        const void *src;

        if (!p->ifa_addr || !p->ifa_name)
            continue;
        if (p->ifa_addr->sa_family == AF_INET) {
            fam = "ipv4";
            src = &((const struct sockaddr_in *)(const void *)p->ifa_addr)->sin_addr;
        } else if (p->ifa_addr->sa_family == AF_INET6) {
            fam = "ipv6";
            src = &((const struct sockaddr_in6 *)(const void *)p->ifa_addr)->sin6_addr;
        } else {
            continue;
        }
        if (!inet_ntop(p->ifa_addr->sa_family, src, addr, sizeof(addr)))
            continue;
        if (!family) {
            (void)expo_family(w, "soak_network_address_info", METRIC_GAUGE,
                              "IP addresses of the interfaces (from getifaddrs).");
            family = 1;
        }
        {
            struct expo_label l[3] = {
                { "device", p->ifa_name }, { "family", fam }, { "address", addr } };
            (void)expo_sample(w, "soak_network_address_info", l, 3, 1);
        }
        count++;
    }
    freeifaddrs(ifa);
}

static int
net_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct net_ctx *c = ctx;
    int r, n;

    r = net_start(c, root);
    if (r < 0)
        return r;
    n = procfile_dir_list(&c->dir, root, "/sys/class/net", "");
    if (n < 0)
        return n;
    if (c->kind_lists != c->dir.lists) {
        memset(c->kind, NET_ENTRY_UNKNOWN, c->max_ifaces);
        c->kind_lists = c->dir.lists;
    }
    procfile_cache_begin(&c->files);
    c->n = 0;
    for (int i = 0; i < n; i++) {
        struct net_iface *f = &c->ifs[c->n];
        struct stat st;
        uint64_t v;

        if (c->kind[i] == NET_ENTRY_UNKNOWN)
            c->kind[i] = fstatat(c->dir.fd, c->dir.names[i], &st, 0) == 0 && S_ISDIR(st.st_mode)
                             ? NET_ENTRY_DIR
                             : NET_ENTRY_OTHER;
        if (c->kind[i] != NET_ENTRY_DIR)
            continue; /* bonding_masters and the like */
        (void)snprintf(f->name, sizeof(f->name), "%s", c->dir.names[i]);
        if (read_attr(c, root, f->name, "operstate", f->oper, sizeof(f->oper)) < 0)
            (void)snprintf(f->oper, sizeof(f->oper), "unknown");
        if (read_attr(c, root, f->name, "address", f->addr, sizeof(f->addr)) < 0)
            f->addr[0] = '\0';
        f->carrier = -1;
        if (read_attr(c, root, f->name, "carrier", c->value, sizeof(c->value)) >= 0 &&
            parse_u64(c->value, &v) == 0)
            f->carrier = v ? 1 : 0;
        c->n++;
    }
    procfile_cache_end(&c->files);
    if (c->n > 0) {
        int any_carrier = 0;

        (void)expo_family(w, "node_network_up", METRIC_GAUGE,
                          "Value is 1 if operstate is 'up', 0 otherwise.");
        for (size_t i = 0; i < c->n; i++) {
            struct expo_label l = { "device", c->ifs[i].name };
            (void)expo_sample(w, "node_network_up", &l, 1, strcmp(c->ifs[i].oper, "up") == 0);
            any_carrier |= c->ifs[i].carrier >= 0;
        }
        if (any_carrier)
            (void)expo_family(w, "node_network_carrier", METRIC_GAUGE,
                              "Network device property: carrier.");
        for (size_t i = 0; any_carrier && i < c->n; i++) {
            struct expo_label l = { "device", c->ifs[i].name };
            if (c->ifs[i].carrier >= 0)
                (void)expo_sample(w, "node_network_carrier", &l, 1, c->ifs[i].carrier);
        }
        (void)expo_family(w, "soak_network_info", METRIC_GAUGE,
                          "Interface name, operational state and MAC address.");
        for (size_t i = 0; i < c->n; i++) {
            struct expo_label l[3] = { { "device", c->ifs[i].name },
                                       { "operstate", c->ifs[i].oper },
                                       { "address", c->ifs[i].addr } };
            (void)expo_sample(w, "soak_network_info", l, 3, 1);
        }
    }
    if (is_real_root(root))
        write_addresses(w);
    return expo_error(w);
}

static void
net_fini(void *ctx)
{
    struct net_ctx *c = ctx;

    if (!c)
        return;
    procfile_dir_free(&c->dir);
    procfile_cache_free(&c->files);
    free(c->ifs);
    free(c->kind);
    free(c);
}

const struct collector_ops net_collector = {
    .name = "net",
    .help = "network interfaces: operstate, carrier, MAC and IP addresses (node_network_*)",
    .init = net_init,
    .configure = net_configure,
    .start = net_start,
    .read = net_read,
    .fini = net_fini,
};
