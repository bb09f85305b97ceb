/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the simulated sensor bus and its chip models (see sim.h).
 * Each model follows the reference notes' command set, timing and CRC:
 * docs/internals/SENSORS.md lists what each one models and which faults.
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_NEVER UINT64_MAX
#define SIM_DEFAULT_SLOW_US 200000 /* SIM_FAULT_SLOW delay per transfer */

enum sim_kind {
    SIM_SHT3X,
    SIM_SHTC3,
    SIM_AHT20,
    SIM_BH1750,
    SIM_LPS25,
    SIM_MCP300X,
    SIM_DS18B20,
};

struct sim_chip {
    struct sim_bus *bus;
    enum sim_kind kind;
    uint16_t addr;
    char w1_id[32];
    unsigned faults, slow_us;
    int w1_new_kernel;
    double temp, rh, lux, pa, volts[8];
    unsigned nch;
    double vref;
    uint64_t transfers;
    /* command/measurement state */
    uint8_t out[16];
    size_t out_len;
    uint64_t busy_until; /* virtual µs; reads before it are NACKed (or see old data) */
    uint16_t status;     /* SHT3x status word */
    int asleep;          /* SHTC3 */
    int calibrated;      /* AHT20 */
    int powered;         /* BH1750 */
    unsigned mtreg;
    uint16_t bh_data, bh_pending;
    uint8_t regs[0x40]; /* LPS25 */
    uint8_t ptr;
    int autoinc;
};

struct sim_bus {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t now_us;
    int held;
    unsigned blocked;
    size_t n;
    struct sim_chip chips[SIM_CHIPS_MAX];
};

int
sim_bus_new(struct sim_bus **ret)
{
    struct sim_bus *b = calloc(1, sizeof(*b));

    if (!b)
        return -ENOMEM;
    (void)pthread_mutex_init(&b->lock, NULL);
    (void)pthread_cond_init(&b->cond, NULL);
    *ret = b;
    return 0;
}

void
sim_bus_free(struct sim_bus *b)
{
    if (!b)
        return;
    (void)pthread_cond_destroy(&b->cond);
    (void)pthread_mutex_destroy(&b->lock);
    free(b);
}

static const struct {
    const char *name;
    enum sim_kind kind;
    unsigned nch;
} sim_kinds[] = {
    {"sht3x", SIM_SHT3X, 0},     {"shtc3", SIM_SHTC3, 0},     {"aht20", SIM_AHT20, 0},
    {"bh1750", SIM_BH1750, 0},   {"lps25", SIM_LPS25, 0},     {"mcp3002", SIM_MCP300X, 2},
    {"mcp3004", SIM_MCP300X, 4}, {"mcp3008", SIM_MCP300X, 8}, {"ds18b20", SIM_DS18B20, 0},
    {"w1", SIM_DS18B20, 0},
};

static void
lps25_defaults(struct sim_chip *c)
{
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[0x0f] = (c->faults & SIM_FAULT_WRONG_ID) ? 0xb1 : 0xbd;
    c->regs[0x10] = 0x0f; /* RES_CONF default */
}

struct sim_chip *
sim_bus_add(struct sim_bus *b, const char *kind, uint16_t addr, const char *w1_id)
{
    struct sim_chip *c = NULL;

    (void)pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < sizeof(sim_kinds) / sizeof(sim_kinds[0]); i++) {
        if (strcmp(kind, sim_kinds[i].name) != 0 || b->n >= SIM_CHIPS_MAX)
            continue;
        c = &b->chips[b->n++];
        memset(c, 0, sizeof(*c));
        c->bus = b;
        c->kind = sim_kinds[i].kind;
        c->nch = sim_kinds[i].nch;
        c->addr = addr;
        if (w1_id) {
            size_t l = strlen(w1_id);

            if (l >= sizeof(c->w1_id))
                l = sizeof(c->w1_id) - 1;
            memcpy(c->w1_id, w1_id, l);
            c->w1_id[l] = '\0';
        }
        c->temp = 25.0;
        c->rh = 50.0;
        c->lux = 100.0;
        c->pa = 101325.0;
        c->vref = 3.3;
        for (size_t k = 0; k < 8; k++)
            c->volts[k] = 1.65;
        c->slow_us = SIM_DEFAULT_SLOW_US;
        c->w1_new_kernel = 1;
        c->status = 0x8010; /* power-on: alert pending, reset detected */
        c->calibrated = 1;
        c->mtreg = 69;
        c->asleep = 0; /* power-up state is idle */
        lps25_defaults(c);
        break;
    }
    (void)pthread_mutex_unlock(&b->lock);
    return c;
}

struct sim_chip *
sim_bus_chip(struct sim_bus *b, size_t i)
{
    return i < b->n ? &b->chips[i] : NULL;
}

#define SETTER(fn, field)                                                                          \
    void fn(struct sim_chip *c, double v)                                                          \
    {                                                                                              \
        (void)pthread_mutex_lock(&c->bus->lock);                                                   \
        c->field = v;                                                                              \
        (void)pthread_mutex_unlock(&c->bus->lock);                                                 \
    }
SETTER(sim_chip_set_temperature, temp)
SETTER(sim_chip_set_humidity, rh)
SETTER(sim_chip_set_illuminance, lux)
SETTER(sim_chip_set_pressure, pa)

void
sim_chip_set_voltage(struct sim_chip *c, unsigned channel, double volts)
{
    (void)pthread_mutex_lock(&c->bus->lock);
    if (channel < 8)
        c->volts[channel] = volts;
    (void)pthread_mutex_unlock(&c->bus->lock);
}

void
sim_chip_set_faults(struct sim_chip *c, unsigned faults)
{
    (void)pthread_mutex_lock(&c->bus->lock);
    c->faults = faults;
    if (c->kind == SIM_LPS25)
        c->regs[0x0f] = (faults & SIM_FAULT_WRONG_ID) ? 0xb1 : 0xbd;
    if (c->kind == SIM_AHT20 && (faults & SIM_FAULT_UNCAL))
        c->calibrated = 0;
    (void)pthread_mutex_unlock(&c->bus->lock);
}

void
sim_chip_set_slow_us(struct sim_chip *c, unsigned us)
{
    (void)pthread_mutex_lock(&c->bus->lock);
    c->slow_us = us;
    (void)pthread_mutex_unlock(&c->bus->lock);
}

void
sim_chip_set_w1_new_kernel(struct sim_chip *c, int on)
{
    (void)pthread_mutex_lock(&c->bus->lock);
    c->w1_new_kernel = on;
    (void)pthread_mutex_unlock(&c->bus->lock);
}

uint64_t
sim_chip_transfers(struct sim_chip *c)
{
    uint64_t n;

    (void)pthread_mutex_lock(&c->bus->lock);
    n = c->transfers;
    (void)pthread_mutex_unlock(&c->bus->lock);
    return n;
}

void
sim_bus_hold(struct sim_bus *b, int held)
{
    (void)pthread_mutex_lock(&b->lock);
    b->held = held;
    (void)pthread_cond_broadcast(&b->cond);
    (void)pthread_mutex_unlock(&b->lock);
}

unsigned
sim_bus_blocked(struct sim_bus *b)
{
    unsigned n;

    (void)pthread_mutex_lock(&b->lock);
    n = b->blocked;
    (void)pthread_mutex_unlock(&b->lock);
    return n;
}

uint64_t
sim_bus_now_us(struct sim_bus *b)
{
    uint64_t t;

    (void)pthread_mutex_lock(&b->lock);
    t = b->now_us;
    (void)pthread_mutex_unlock(&b->lock);
    return t;
}

/* ---- helpers ---- */

static uint32_t
clamp_round(double v, double lo, double hi)
{
    if (!(v > lo))
        v = lo;
    if (v > hi)
        v = hi;
    return (uint32_t)lround(v);
}

static void
sensirion_word(uint8_t *out, uint16_t w)
{
    out[0] = (uint8_t)(w >> 8);
    out[1] = (uint8_t)w;
    out[2] = sensor_crc8_sensirion(out, 2);
}

static void
real_sleep(unsigned us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Take the lock, wait at the gate, apply the slow fault. Returns with the lock held. */
static void
bus_enter(struct sim_bus *b, struct sim_chip *c)
{
    unsigned slow = 0;

    (void)pthread_mutex_lock(&b->lock);
    while (b->held) {
        b->blocked++;
        (void)pthread_cond_wait(&b->cond, &b->lock);
        b->blocked--;
    }
    if (c && (c->faults & SIM_FAULT_SLOW))
        slow = c->slow_us;
    if (slow) {
        (void)pthread_mutex_unlock(&b->lock);
        real_sleep(slow);
        (void)pthread_mutex_lock(&b->lock);
    }
}

/* ---- SHT3x ---- */

static void
sht3x_measure(struct sim_chip *c, uint64_t dur_us)
{
    uint16_t st = (uint16_t)clamp_round((c->temp + 45.0) * 65535.0 / 175.0, 0, 65535);
    uint16_t srh = (uint16_t)clamp_round(c->rh * 65535.0 / 100.0, 0, 65535);

    sensirion_word(c->out, st);
    sensirion_word(c->out + 3, srh);
    if (c->faults & SIM_FAULT_CRC)
        c->out[5] ^= 0x5a;
    c->out_len = 6;
    c->busy_until = (c->faults & SIM_FAULT_BUSY) ? SIM_NEVER : c->bus->now_us + dur_us;
}

static int
sht3x_write(struct sim_chip *c, const uint8_t *buf, size_t n)
{
    uint16_t cmd;

    if (n != 2)
        return 0;
    cmd = (uint16_t)(buf[0] << 8 | buf[1]);
    switch (cmd) {
    case 0x2400:
    case 0x2c06:
        sht3x_measure(c, 12500);
        break;
    case 0x240b:
    case 0x2c0d:
        sht3x_measure(c, 4500);
        break;
    case 0x2416:
    case 0x2c10:
        sht3x_measure(c, 2500);
        break;
    case 0x30a2:
        c->status = 0x8010;
        c->out_len = 0;
        break;
    case 0x3093:
        break;
    case 0x3041:
        c->status = 0;
        break;
    case 0xf32d:
        sensirion_word(c->out, c->status);
        c->out_len = 3;
        c->busy_until = 0;
        break;
    case 0x3780:
        sensirion_word(c->out, 0x1234);
        sensirion_word(c->out + 3, 0x5678);
        c->out_len = 6;
        c->busy_until = 0;
        break;
    default:
        c->status |= 0x0002; /* last command not processed */
        break;
    }
    return 0;
}

static int
sht3x_read(struct sim_chip *c, uint8_t *buf, size_t n)
{
    /* No clock stretching: a read before the data is ready is NACKed on the header. */
    if (c->bus->now_us < c->busy_until || c->out_len == 0)
        return -ENXIO;
    for (size_t i = 0; i < n; i++)
        buf[i] = i < c->out_len ? c->out[i] : 0xff;
    c->out_len = 0;
    return 0;
}

/* ---- SHTC3 ---- */

static int
shtc3_write(struct sim_chip *c, const uint8_t *buf, size_t n)
{
    uint16_t cmd;

    if (n != 2)
        return -ENXIO;
    cmd = (uint16_t)(buf[0] << 8 | buf[1]);
    if (c->asleep && cmd != 0x3517)
        return -ENXIO; /* asleep: only wake-up is acknowledged */
    switch (cmd) {
    case 0x3517:
        c->asleep = 0;
        break;
    case 0xb098:
        c->asleep = 1;
        break;
    case 0x805d:
        c->out_len = 0;
        break;
    case 0xefc8:
        sensirion_word(c->out, (c->faults & SIM_FAULT_WRONG_ID) ? 0x0007 : 0x0887);
        c->out_len = 3;
        c->busy_until = 0;
        break;
    case 0x7866: {
        uint16_t st = (uint16_t)clamp_round((c->temp + 45.0) * 65536.0 / 175.0, 0, 65535);
        uint16_t srh = (uint16_t)clamp_round(c->rh * 65536.0 / 100.0, 0, 65535);

        sensirion_word(c->out, st);
        sensirion_word(c->out + 3, srh);
        if (c->faults & SIM_FAULT_CRC)
            c->out[2] ^= 0x01;
        c->out_len = 6;
        c->busy_until = (c->faults & SIM_FAULT_BUSY) ? SIM_NEVER : c->bus->now_us + 10800;
        break;
    }
    default:
        return -ENXIO;
    }
    return 0;
}

static int
shtc3_read(struct sim_chip *c, uint8_t *buf, size_t n)
{
    if (c->asleep || c->bus->now_us < c->busy_until || c->out_len == 0)
        return -ENXIO;
    for (size_t i = 0; i < n; i++)
        buf[i] = i < c->out_len ? c->out[i] : 0xff;
    c->out_len = 0;
    return 0;
}

/* ---- AHT20 ---- */

static int
aht20_write(struct sim_chip *c, const uint8_t *buf, size_t n)
{
    if (n == 1 && buf[0] == 0xba) {
        c->busy_until = c->bus->now_us + 20000; /* soft reset */
        c->out_len = 0;
        return 0;
    }
    if (n == 3 && buf[0] == 0xbe) {
        if (!(c->faults & SIM_FAULT_UNCAL))
            c->calibrated = 1;
        return 0;
    }
    if (n == 3 && buf[0] == 0xac && buf[1] == 0x33) {
        uint32_t srh = clamp_round(c->rh / 100.0 * 1048576.0, 0, 0xfffff);
        uint32_t st = clamp_round((c->temp + 50.0) / 200.0 * 1048576.0, 0, 0xfffff);

        c->out[1] = (uint8_t)(srh >> 12);
        c->out[2] = (uint8_t)(srh >> 4);
        c->out[3] = (uint8_t)((srh & 0x0f) << 4 | (st >> 16));
        c->out[4] = (uint8_t)(st >> 8);
        c->out[5] = (uint8_t)st;
        c->out_len = 7;
        c->busy_until = (c->faults & SIM_FAULT_BUSY) ? SIM_NEVER : c->bus->now_us + 75000;
        return 0;
    }
    return -ENXIO;
}

static int
aht20_read(struct sim_chip *c, uint8_t *buf, size_t n)
{
    int busy = c->bus->now_us < c->busy_until;

    c->out[0] = (uint8_t)(0x10 | (c->calibrated ? 0x08 : 0) | (busy ? 0x80 : 0));
    c->out[6] = sensor_crc8_sensirion(c->out, 6);
    if (c->faults & SIM_FAULT_CRC)
        c->out[6] ^= 0x01;
    for (size_t i = 0; i < n; i++)
        buf[i] = i < 7 ? c->out[i] : 0xff;
    return 0;
}

/* ---- BH1750 ---- */

static void
bh1750_settle(struct sim_chip *c)
{
    if (c->busy_until && c->bus->now_us >= c->busy_until) {
        c->bh_data = c->bh_pending;
        c->busy_until = 0;
        c->powered = 0; /* one-time modes power down afterwards */
    }
}

static int
bh1750_write(struct sim_chip *c, const uint8_t *buf, size_t n)
{
    uint8_t op;

    if (n != 1)
        return 0; /* extra bytes in one transaction: ignored by the chip */
    op = buf[0];
    bh1750_settle(c);
    if (op == 0x00)
        c->powered = 0;
    else if (op == 0x01)
        c->powered = 1;
    else if (op == 0x07) {
        if (c->powered)
            c->bh_data = 0;
    } else if ((op & 0xf8) == 0x40)
        c->mtreg = (c->mtreg & 0x1f) | (unsigned)(op & 0x07) << 5;
    else if ((op & 0xe0) == 0x60)
        c->mtreg = (c->mtreg & 0xe0) | (op & 0x1fu);
    else if (op == 0x20 || op == 0x21 || op == 0x23 || op == 0x10 || op == 0x11 || op == 0x13) {
        unsigned mt = c->mtreg ? c->mtreg : 69;
        uint64_t dur = (op & 0x03) == 0x03 ? 16000 : 120000;

        c->bh_pending = (uint16_t)clamp_round(c->lux * 1.2 * mt / 69.0, 0, 65535);
        c->busy_until = c->bus->now_us + dur * mt / 69;
        c->powered = 1;
    }
    return 0;
}

static int
bh1750_read(struct sim_chip *c, uint8_t *buf, size_t n)
{
    bh1750_settle(c);
    /* Before a conversion completes the chip returns the previous value. */
    for (size_t i = 0; i < n; i++)
        buf[i] = i == 0 ? (uint8_t)(c->bh_data >> 8) : i == 1 ? (uint8_t)c->bh_data : 0xff;
    return 0;
}

/* ---- LPS25 ---- */

static void
lps25_settle(struct sim_chip *c)
{
    if ((c->regs[0x21] & 0x01) && c->bus->now_us >= c->busy_until) {
        int32_t p = (int32_t)clamp_round(c->pa / 100.0 * 4096.0, 0, 8388607);
        int32_t t = (int32_t)lround((c->temp - 42.5) * 480.0);

        if (t > 32767)
            t = 32767;
        if (t < -32768)
            t = -32768;
        c->regs[0x28] = (uint8_t)p;
        c->regs[0x29] = (uint8_t)(p >> 8);
        c->regs[0x2a] = (uint8_t)(p >> 16);
        c->regs[0x2b] = (uint8_t)t;
        c->regs[0x2c] = (uint8_t)((uint16_t)t >> 8);
        c->regs[0x27] |= 0x03;
        c->regs[0x21] &= (uint8_t)~0x01;
    }
}

static int
lps25_write(struct sim_chip *c, const uint8_t *buf, size_t n)
{
    if (n == 0)
        return 0;
    c->ptr = buf[0] & 0x7f;
    c->autoinc = (buf[0] & 0x80) != 0;
    for (size_t i = 1; i < n; i++) {
        uint8_t reg = c->ptr;

        if (reg < sizeof(c->regs) && reg != 0x0f && reg != 0x27) {
            c->regs[reg] = buf[i];
            if (reg == 0x21 && (buf[i] & 0x04)) {
                lps25_defaults(c); /* SWRESET, done at once */
            } else if (reg == 0x21 && (buf[i] & 0x01)) {
                if (!(c->regs[0x20] & 0x80))
                    c->regs[0x21] &= (uint8_t)~0x01; /* powered down: ignored */
                else {
                    c->regs[0x27] &= (uint8_t)~0x03;
                    c->busy_until =
                        (c->faults & SIM_FAULT_BUSY) ? SIM_NEVER : c->bus->now_us + 36000;
                }
            }
        }
        if (c->autoinc)
            c->ptr++;
    }
    return 0;
}

static int
lps25_read(struct sim_chip *c, uint8_t *buf, size_t n)
{
    lps25_settle(c);
    for (size_t i = 0; i < n; i++) {
        buf[i] = c->ptr < sizeof(c->regs) ? c->regs[c->ptr] : 0;
        if (c->autoinc)
            c->ptr++;
    }
    return 0;
}

/* ---- I2C dispatch ---- */

static int
chip_write(struct sim_chip *c, const uint8_t *buf, size_t n)
{
    switch (c->kind) {
    case SIM_SHT3X:
        return sht3x_write(c, buf, n);
    case SIM_SHTC3:
        return shtc3_write(c, buf, n);
    case SIM_AHT20:
        return aht20_write(c, buf, n);
    case SIM_BH1750:
        return bh1750_write(c, buf, n);
    case SIM_LPS25:
        return lps25_write(c, buf, n);
    default:
        return -ENXIO;
    }
}

static int
chip_read(struct sim_chip *c, uint8_t *buf, size_t n)
{
    int r;

    switch (c->kind) {
    case SIM_SHT3X:
        r = sht3x_read(c, buf, n);
        break;
    case SIM_SHTC3:
        r = shtc3_read(c, buf, n);
        break;
    case SIM_AHT20:
        r = aht20_read(c, buf, n);
        break;
    case SIM_BH1750:
        r = bh1750_read(c, buf, n);
        break;
    case SIM_LPS25:
        r = lps25_read(c, buf, n);
        break;
    default:
        return -ENXIO;
    }
    if (r == 0 && (c->faults & (SIM_FAULT_ALL_FF | SIM_FAULT_ALL_ZERO)))
        memset(buf, (c->faults & SIM_FAULT_ALL_FF) ? 0xff : 0x00, n);
    return r;
}

static struct sim_chip *
find_i2c(struct sim_bus *b, uint16_t addr)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->chips[i].kind != SIM_MCP300X && b->chips[i].kind != SIM_DS18B20 &&
            b->chips[i].addr == addr)
            return &b->chips[i];
    return NULL;
}

static int
sim_i2c_transfer(void *ctx, struct sensor_i2c_msg *msgs, size_t n)
{
    struct sim_bus *b = ctx;
    struct sim_chip *c;
    int r = 0;

    if (n == 0)
        return -EINVAL;
    (void)pthread_mutex_lock(&b->lock);
    c = find_i2c(b, msgs[0].addr);
    (void)pthread_mutex_unlock(&b->lock);
    bus_enter(b, c);
    if (!c || (c->faults & SIM_FAULT_NACK)) {
        (void)pthread_mutex_unlock(&b->lock);
        return -ENXIO;
    }
    c->transfers++;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (msgs[i].flags & SENSOR_I2C_RD)
            r = chip_read(c, msgs[i].buf, msgs[i].len);
        else
            r = chip_write(c, msgs[i].buf, msgs[i].len);
    }
    (void)pthread_mutex_unlock(&b->lock);
    return r;
}

/* ---- MCP300x ---- */

static void
set_bit(uint8_t *rx, size_t i, unsigned v)
{
    if (v)
        rx[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

static unsigned
get_bit(const uint8_t *tx, size_t i)
{
    return (tx[i / 8] >> (7 - i % 8)) & 1u;
}

static int
sim_spi_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct sim_bus *b = ctx;
    struct sim_chip *c = NULL;
    size_t bits = len * 8, s;
    unsigned sgl, ch, msbf = 1, code;
    size_t null_at;
    double v;

    (void)pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n && !c; i++)
        if (b->chips[i].kind == SIM_MCP300X)
            c = &b->chips[i];
    (void)pthread_mutex_unlock(&b->lock);
    bus_enter(b, c);
    memset(rx, 0, len);
    if (!c) {
        (void)pthread_mutex_unlock(&b->lock);
        return 0; /* nothing on the bus: MISO stays low */
    }
    c->transfers++;
    if (c->faults & (SIM_FAULT_NACK | SIM_FAULT_ALL_FF)) {
        memset(rx, 0xff, len); /* MISO floating high */
        (void)pthread_mutex_unlock(&b->lock);
        return 0;
    }
    if (c->faults & SIM_FAULT_ALL_ZERO) {
        (void)pthread_mutex_unlock(&b->lock);
        return 0;
    }
    for (s = 0; s < bits && !get_bit(tx, s); s++)
        ;
    if (s + 5 >= bits) {
        (void)pthread_mutex_unlock(&b->lock);
        return 0;
    }
    sgl = get_bit(tx, s + 1);
    if (c->nch == 2) {
        ch = get_bit(tx, s + 2);
        msbf = get_bit(tx, s + 3);
        null_at = s + 4;
    } else {
        ch = get_bit(tx, s + 2) << 2 | get_bit(tx, s + 3) << 1 | get_bit(tx, s + 4);
        null_at = s + 6;
    }
    if (ch >= c->nch)
        ch = 0;
    if (sgl)
        v = c->volts[ch];
    else
        v = c->volts[ch] - c->volts[ch ^ 1u];
    code = clamp_round(v / c->vref * 1024.0, 0, 1023);
    /* null bit 0, then B9..B0, then (MCP3002 with MSBF=0) B1..B9. */
    for (size_t k = 0; k < 10 && null_at + 1 + k < bits; k++)
        set_bit(rx, null_at + 1 + k, (code >> (9 - k)) & 1u);
    if (c->nch == 2 && !msbf)
        for (size_t k = 1; k <= 9 && null_at + 10 + k < bits; k++)
            set_bit(rx, null_at + 10 + k,
                    ((code >> k) & 1u) ^ ((c->faults & SIM_FAULT_CRC) && k == 4));
    (void)pthread_mutex_unlock(&b->lock);
    return 0;
}

/* ---- DS18B20 through the kernel's w1_therm ---- */

static void
hex9(char *out, const uint8_t b[9])
{
    static const char hx[] = "0123456789abcdef";

    for (int i = 0; i < 9; i++) {
        out[3 * i] = hx[b[i] >> 4];
        out[3 * i + 1] = hx[b[i] & 15];
        out[3 * i + 2] = ' ';
    }
    out[27] = '\0';
}

static size_t
put(char *out, size_t size, size_t at, const char *s)
{
    size_t l = strlen(s);

    if (at + l + 1 > size)
        l = at + 1 < size ? size - at - 1 : 0;
    memcpy(out + at, s, l);
    out[at + l] = '\0';
    return at + l;
}

static void
put_int(char *out, long v)
{
    char tmp[24];
    int n = 0, neg = v < 0;
    unsigned long u = neg ? (unsigned long)(-(v + 1)) + 1 : (unsigned long)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        tmp[n++] = '-';
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static ssize_t
ds18b20_render(struct sim_chip *c, const char *attr, char *out, size_t size)
{
    uint8_t sp[9];
    int16_t raw;
    int crc_ok;
    long t;
    char hx[28], num[24];
    size_t at = 0;
    int is_temp = strcmp(attr, "temperature") == 0;

    if (!is_temp && strcmp(attr, "w1_slave") != 0)
        return -ENOENT;
    if (is_temp && !c->w1_new_kernel)
        return -ENOENT;
    /* The kernel issues Convert T and waits the conversion time (750 ms at 12 bits). */
    c->bus->now_us += 750000;
    if (c->faults & (SIM_FAULT_POWER_ON | SIM_FAULT_BUSY))
        raw = 0x0550;
    else
        raw = (int16_t)lround(fmin(fmax(c->temp, -55.0), 125.0) * 16.0);
    sp[0] = (uint8_t)raw;
    sp[1] = (uint8_t)((uint16_t)raw >> 8);
    sp[2] = 0x4b;
    sp[3] = 0x46;
    sp[4] = 0x7f;
    sp[5] = 0xff;
    sp[6] =
        (c->faults & (SIM_FAULT_POWER_ON | SIM_FAULT_BUSY)) ? 0x0c : (uint8_t)(0x10 - (raw & 0x0f));
    sp[7] = 0x10;
    sp[8] = sensor_crc8_dallas(sp, 8);
    if (c->faults & SIM_FAULT_CRC)
        sp[1] ^= 0x01; /* a bit flipped on the wire */
    if (c->faults & SIM_FAULT_ALL_FF)
        memset(sp, 0xff, sizeof(sp));
    if (c->faults & SIM_FAULT_ALL_ZERO)
        memset(sp, 0x00, sizeof(sp));
    crc_ok = sensor_crc8_dallas(sp, 8) == sp[8];
    raw = (int16_t)(uint16_t)(sp[1] << 8 | sp[0]);
    t = (long)raw * 1000 / 16;
    if (size)
        out[0] = '\0';
    if (!crc_ok && c->w1_new_kernel)
        return 0; /* kernels >= 5.9: an empty read after the retries */
    if (is_temp) {
        put_int(num, t);
        at = put(out, size, 0, num);
        at = put(out, size, at, "\n");
        return (ssize_t)at;
    }
    hex9(hx, sp);
    at = put(out, size, at, hx);
    at = put(out, size, at, ": crc=");
    hx[26] = '\0';
    at = put(out, size, at, hx + 24); /* the CRC byte's two digits */
    at = put(out, size, at, crc_ok ? " YES\n" : " NO\n");
    hex9(hx, sp);
    at = put(out, size, at, hx);
    at = put(out, size, at, "t=");
    put_int(num, t);
    at = put(out, size, at, num);
    at = put(out, size, at, "\n");
    return (ssize_t)at;
}

static ssize_t
sim_w1_read(void *ctx, const char *id, const char *attr, char *out, size_t size)
{
    struct sim_bus *b = ctx;
    struct sim_chip *c = NULL;
    ssize_t n;

    (void)pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n && !c; i++)
        if (b->chips[i].kind == SIM_DS18B20 && strcmp(b->chips[i].w1_id, id) == 0)
            c = &b->chips[i];
    (void)pthread_mutex_unlock(&b->lock);
    bus_enter(b, c);
    if (!c || (c->faults & SIM_FAULT_NACK)) {
        (void)pthread_mutex_unlock(&b->lock);
        return -ENOENT; /* the slave directory went away */
    }
    c->transfers++;
    n = ds18b20_render(c, attr, out, size);
    (void)pthread_mutex_unlock(&b->lock);
    return n;
}

static void
sim_sleep_us(void *ctx, unsigned us)
{
    struct sim_bus *b = ctx;

    (void)pthread_mutex_lock(&b->lock);
    b->now_us += us;
    (void)pthread_mutex_unlock(&b->lock);
}

static void
sim_close(void *ctx)
{
    sim_bus_free(ctx);
}

static const struct sensor_bus_ops sim_ops = {
    .name = "sim",
    .i2c_transfer = sim_i2c_transfer,
    .spi_transfer = sim_spi_transfer,
    .w1_read = sim_w1_read,
    .sleep_us = sim_sleep_us,
    .close = sim_close,
};

int
sim_bus_to_sensor_bus(struct sim_bus *b, struct sensor_bus **ret)
{
    struct sensor_bus *sb = calloc(1, sizeof(*sb));

    if (!sb)
        return -ENOMEM;
    sb->ops = &sim_ops;
    sb->ctx = b;
    *ret = sb;
    return 0;
}

struct sim_bus *
sim_bus_from(struct sensor_bus *sb)
{
    return sb && sb->ops == &sim_ops ? sb->ctx : NULL;
}

int
sensor_sim_bus_open(const char *spec, const struct sensor_driver *drv, const struct sensor_dev *dev,
                    struct sensor_bus **ret_bus)
{
    struct sim_bus *b;
    const char *kind = drv->name;
    int r;

    (void)spec;
    if (strcmp(kind, "mcp3002") == 0 && dev->model == 4)
        kind = "mcp3004";
    else if (strcmp(kind, "mcp3002") == 0 && dev->model == 8)
        kind = "mcp3008";
    r = sim_bus_new(&b);
    if (r < 0)
        return r;
    if (!sim_bus_add(b, kind, dev->addr, dev->device)) {
        sim_bus_free(b);
        return -EOPNOTSUPP; /* no model for this driver (hwmon, iio) */
    }
    r = sim_bus_to_sensor_bus(b, ret_bus);
    if (r < 0)
        sim_bus_free(b);
    return r;
}
