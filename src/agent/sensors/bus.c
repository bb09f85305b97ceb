/* SPDX-License-Identifier: MIT */
/*
 * bus.c - the Linux buses behind struct sensor_bus: i2c-dev (I2C_RDWR),
 * spidev (SPI_IOC_MESSAGE) and the w1 sysfs tree, plus the thin wrappers
 * drivers call.
 */
#include "sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <linux/spi/spidev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "rootfs.h"

#define I2C_ADAPTER_TIMEOUT_10MS 10 /* I2C_TIMEOUT is in units of 10 ms: 100 ms */
#define I2C_ADAPTER_RETRIES 1
#define I2C_MSGS_MAX 4

int
sensor_reading_add(struct sensor_reading *r, enum sensor_quantity q, double value,
                   const char *channel)
{
    struct sensor_value *v;

    if (r->n >= SENSOR_VALUES_MAX)
        return -E2BIG;
    v = &r->v[r->n++];
    v->quantity = q;
    v->value = value;
    v->channel[0] = '\0';
    if (channel) {
        size_t l = strnlen(channel, sizeof(v->channel) - 1);
        memcpy(v->channel, channel, l);
        v->channel[l] = '\0';
    }
    return 0;
}

int
sensor_i2c_write(struct sensor_bus *b, uint16_t addr, const uint8_t *buf, size_t n)
{
    struct sensor_i2c_msg m = {addr, 0, (uint16_t)n, (uint8_t *)(uintptr_t)buf};

    if (!b->ops->i2c_transfer)
        return -EOPNOTSUPP;
    return b->ops->i2c_transfer(b->ctx, &m, 1);
}

int
sensor_i2c_read(struct sensor_bus *b, uint16_t addr, uint8_t *buf, size_t n)
{
    struct sensor_i2c_msg m = {addr, SENSOR_I2C_RD, (uint16_t)n, buf};

    if (!b->ops->i2c_transfer)
        return -EOPNOTSUPP;
    return b->ops->i2c_transfer(b->ctx, &m, 1);
}

int
sensor_i2c_write_read(struct sensor_bus *b, uint16_t addr, const uint8_t *wbuf, size_t wn,
                      uint8_t *rbuf, size_t rn)
{
    struct sensor_i2c_msg m[2] = {
        {addr, 0, (uint16_t)wn, (uint8_t *)(uintptr_t)wbuf},
        {addr, SENSOR_I2C_RD, (uint16_t)rn, rbuf},
    };

    if (!b->ops->i2c_transfer)
        return -EOPNOTSUPP;
    return b->ops->i2c_transfer(b->ctx, m, 2);
}

int
sensor_spi_transfer(struct sensor_bus *b, const uint8_t *tx, uint8_t *rx, size_t len)
{
    if (!b->ops->spi_transfer)
        return -EOPNOTSUPP;
    return b->ops->spi_transfer(b->ctx, tx, rx, len);
}

ssize_t
sensor_w1_read(struct sensor_bus *b, const char *id, const char *attr, char *out, size_t size)
{
    if (!b->ops->w1_read)
        return -EOPNOTSUPP;
    return b->ops->w1_read(b->ctx, id, attr, out, size);
}

void
sensor_sleep_us(struct sensor_bus *b, unsigned us)
{
    b->ops->sleep_us(b->ctx, us);
}

struct sensor_bus *
sensor_bus_close(struct sensor_bus *b)
{
    if (!b)
        return NULL;
    if (b->ops && b->ops->close)
        b->ops->close(b->ctx);
    free(b);
    return NULL;
}

/* ---- real sleeping ---- */

static void
real_sleep_us(void *ctx, unsigned us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};

    (void)ctx;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- i2c-dev ---- */

struct fd_bus {
    int fd;
    uint32_t speed_hz;
};

static int
i2c_errno(int e)
{
    /* A NACK is ENXIO on most adapters and EREMOTEIO on some: one meaning for drivers. */
    if (e == EREMOTEIO)
        return -ENXIO;
    return -e;
}

static int
i2cdev_transfer(void *ctx, struct sensor_i2c_msg *msgs, size_t n)
{
    struct fd_bus *fb = ctx;
    struct i2c_msg km[I2C_MSGS_MAX];
    struct i2c_rdwr_ioctl_data d;

    if (n == 0 || n > I2C_MSGS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        km[i].addr = msgs[i].addr;
        km[i].flags = (msgs[i].flags & SENSOR_I2C_RD) ? I2C_M_RD : 0;
        km[i].len = msgs[i].len;
        km[i].buf = msgs[i].buf;
    }
    d.msgs = km;
    d.nmsgs = (uint32_t)n;
    if (ioctl(fb->fd, I2C_RDWR, &d) < 0)
        return i2c_errno(errno);
    return 0;
}

static void
fd_bus_close(void *ctx)
{
    struct fd_bus *fb = ctx;

    if (!fb)
        return;
    if (fb->fd >= 0)
        (void)close(fb->fd);
    free(fb);
}

static const struct sensor_bus_ops i2cdev_ops = {
    .name = "i2c-dev",
    .i2c_transfer = i2cdev_transfer,
    .sleep_us = real_sleep_us,
    .close = fd_bus_close,
};

static int
bus_new(const struct sensor_bus_ops *ops, void *ctx, struct sensor_bus **ret_bus)
{
    struct sensor_bus *b = calloc(1, sizeof(*b));

    if (!b)
        return -ENOMEM;
    b->ops = ops;
    b->ctx = ctx;
    *ret_bus = b;
    return 0;
}

int
sensor_bus_open_i2c(const char *root, const char *path, uint16_t addr, struct sensor_bus **ret_bus)
{
    _cleanup_close_ int fd = -1;
    struct fd_bus *fb;
    int r;

    if (addr > 0x7f)
        return -EINVAL;
    fd = root_open(root, path, O_RDWR);
    if (fd < 0)
        return fd;
    if (ioctl(fd, I2C_TIMEOUT, (unsigned long)I2C_ADAPTER_TIMEOUT_10MS) < 0)
        return -errno;
    if (ioctl(fd, I2C_RETRIES, (unsigned long)I2C_ADAPTER_RETRIES) < 0)
        return -errno;
    /* Claims the address: EBUSY means a kernel driver is bound to the chip. */
    if (ioctl(fd, I2C_SLAVE, (unsigned long)addr) < 0)
        return -errno;
    fb = calloc(1, sizeof(*fb));
    if (!fb)
        return -ENOMEM;
    fb->fd = TAKE_FD(fd);
    r = bus_new(&i2cdev_ops, fb, ret_bus);
    if (r < 0)
        fd_bus_close(fb);
    return r;
}

/* ---- spidev ---- */

static int
spidev_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct fd_bus *fb = ctx;
    struct spi_ioc_transfer t;

    memset(&t, 0, sizeof(t));
    t.tx_buf = (uint64_t)(uintptr_t)tx;
    t.rx_buf = (uint64_t)(uintptr_t)rx;
    t.len = (uint32_t)len;
    t.speed_hz = fb->speed_hz;
    t.bits_per_word = 8;
    t.cs_change = 0;
    if (ioctl(fb->fd, SPI_IOC_MESSAGE(1), &t) < 0)
        return -errno;
    return 0;
}

static const struct sensor_bus_ops spidev_ops = {
    .name = "spidev",
    .spi_transfer = spidev_transfer,
    .sleep_us = real_sleep_us,
    .close = fd_bus_close,
};

int
sensor_bus_open_spi(const char *root, const char *path, uint32_t speed_hz,
                    struct sensor_bus **ret_bus)
{
    _cleanup_close_ int fd = -1;
    uint8_t mode = SPI_MODE_0, bits = 8;
    struct fd_bus *fb;
    int r;

    fd = root_open(root, path, O_RDWR);
    if (fd < 0)
        return fd;
    if (ioctl(fd, SPI_IOC_WR_MODE, &mode) < 0)
        return -errno;
    if (ioctl(fd, SPI_IOC_WR_BITS_PER_WORD, &bits) < 0)
        return -errno;
    if (ioctl(fd, SPI_IOC_WR_MAX_SPEED_HZ, &speed_hz) < 0)
        return -errno;
    fb = calloc(1, sizeof(*fb));
    if (!fb)
        return -ENOMEM;
    fb->fd = TAKE_FD(fd);
    fb->speed_hz = speed_hz;
    r = bus_new(&spidev_ops, fb, ret_bus);
    if (r < 0)
        fd_bus_close(fb);
    return r;
}

/* ---- w1 sysfs ---- */

static int
w1_name_ok(const char *s)
{
    if (!s[0] || strlen(s) > 64 || strstr(s, ".."))
        return 0;
    for (; *s; s++)
        if (*s == '/')
            return 0;
    return 1;
}

static ssize_t
w1sysfs_read(void *ctx, const char *id, const char *attr, char *out, size_t size)
{
    const char *root = ctx;
    char path[256];
    size_t a, b;
    static const char prefix[] = "/sys/bus/w1/devices/";

    if (!w1_name_ok(id) || !w1_name_ok(attr))
        return -EINVAL;
    a = strlen(id);
    b = strlen(attr);
    memcpy(path, prefix, sizeof(prefix) - 1);
    memcpy(path + sizeof(prefix) - 1, id, a);
    path[sizeof(prefix) - 1 + a] = '/';
    memcpy(path + sizeof(prefix) + a, attr, b + 1);
    return root_read(root, path, out, size);
}

static void
w1sysfs_close(void *ctx)
{
    free(ctx);
}

static const struct sensor_bus_ops w1sysfs_ops = {
    .name = "w1-sysfs",
    .w1_read = w1sysfs_read,
    .sleep_us = real_sleep_us,
    .close = w1sysfs_close,
};

int
sensor_bus_open_w1(const char *root, struct sensor_bus **ret_bus)
{
    char *r = strdup(root ? root : "");
    int ret;

    if (!r)
        return -ENOMEM;
    ret = bus_new(&w1sysfs_ops, r, ret_bus);
    if (ret < 0)
        free(r);
    return ret;
}
