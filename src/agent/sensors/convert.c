/* SPDX-License-Identifier: MIT */
/*
 * convert.c - CRCs, datasheet conversions and the w1/sysfs text parsers.
 * Pure functions: no I/O, no clock, no allocation.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "parse.h"
#include "sensor.h"

uint8_t
sensor_crc8_sensirion(const uint8_t *data, size_t n)
{
    uint8_t crc = 0xff;

    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x80) ? (uint8_t)((crc << 1) ^ 0x31) : (uint8_t)(crc << 1);
    }
    return crc;
}

uint8_t
sensor_crc8_dallas(const uint8_t *data, size_t n)
{
    uint8_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x01) ? (uint8_t)((crc >> 1) ^ 0x8c) : (uint8_t)(crc >> 1);
    }
    return crc;
}

void
sht3x_convert(uint16_t st, uint16_t srh, double *ret_celsius, double *ret_percent)
{
    *ret_celsius = -45.0 + 175.0 * st / 65535.0;
    *ret_percent = 100.0 * srh / 65535.0;
}

void
shtc3_convert(uint16_t st, uint16_t srh, double *ret_celsius, double *ret_percent)
{
    *ret_celsius = -45.0 + 175.0 * st / 65536.0;
    *ret_percent = 100.0 * srh / 65536.0;
}

int
sensirion_frame(const uint8_t b[6], uint16_t *ret_w0, uint16_t *ret_w1)
{
    if (sensor_crc8_sensirion(b, 2) != b[2] || sensor_crc8_sensirion(b + 3, 2) != b[5])
        return -EBADMSG;
    *ret_w0 = (uint16_t)(b[0] << 8 | b[1]);
    *ret_w1 = (uint16_t)(b[3] << 8 | b[4]);
    return 0;
}

int
aht20_convert(const uint8_t b[7], double *ret_celsius, double *ret_percent)
{
    uint32_t srh, st;

    if (sensor_crc8_sensirion(b, 6) != b[6])
        return -EBADMSG;
    if (b[0] & 0x80)
        return -EBUSY;
    srh = (uint32_t)b[1] << 12 | (uint32_t)b[2] << 4 | (uint32_t)b[3] >> 4;
    st = ((uint32_t)b[3] & 0x0f) << 16 | (uint32_t)b[4] << 8 | b[5];
    *ret_percent = srh * 100.0 / 1048576.0;
    *ret_celsius = st * 200.0 / 1048576.0 - 50.0;
    return 0;
}

double
bh1750_lux(uint16_t raw, unsigned mtreg, int hres2)
{
    double lux = raw / 1.2 * (69.0 / (mtreg ? mtreg : 69));

    return hres2 ? lux / 2.0 : lux;
}

void
lps25_convert(const uint8_t p[3], const uint8_t t[2], double *ret_pascals, double *ret_celsius)
{
    int32_t praw =
        (int32_t)((uint32_t)p[2] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 8) >> 8;
    int16_t traw = (int16_t)(uint16_t)(t[1] << 8 | t[0]);

    *ret_pascals = praw / 4096.0 * 100.0;
    *ret_celsius = 42.5 + traw / 480.0;
}

double
mcp3002_volts(unsigned code, double vref)
{
    return code * vref / 1024.0;
}

/* ---- w1 ---- */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse "xx " nine times at *p (within end); advance. */
static int
parse_9_bytes(const char **pp, const char *end, uint8_t out[9])
{
    const char *p = *pp;

    for (int i = 0; i < 9; i++) {
        int h, l;

        if (end - p < 3)
            return -EINVAL;
        h = hexval(p[0]);
        l = hexval(p[1]);
        if (h < 0 || l < 0 || p[2] != ' ')
            return -EINVAL;
        out[i] = (uint8_t)(h << 4 | l);
        p += 3;
    }
    *pp = p;
    return 0;
}

int
w1_parse_slave(const char *text, size_t len, struct w1_slave_text *ret)
{
    const char *p = text, *end, *eol;
    struct w1_slave_text w;
    int h, l;

    len = strnlen(text, len);
    if (len == 0)
        return -ENODATA;
    end = text + len;
    memset(&w, 0, sizeof(w));
    if (parse_9_bytes(&p, end, w.bytes) < 0)
        return -EINVAL;
    if (end - p < 7 || memcmp(p, ": crc=", 6) != 0)
        return -EINVAL;
    p += 6;
    if (end - p < 2)
        return -EINVAL;
    h = hexval(p[0]);
    l = hexval(p[1]);
    if (h < 0 || l < 0)
        return -EINVAL;
    p += 2;
    if (end - p >= 4 && memcmp(p, " YES", 4) == 0) {
        w.crc_yes = 1;
        p += 4;
    } else if (end - p >= 3 && memcmp(p, " NO", 3) == 0) {
        p += 3;
    } else
        return -EINVAL;
    if (p == end || *p != '\n')
        return -EINVAL;
    p++;
    if (p < end) {
        uint8_t second[9];
        char num[24];
        int64_t t;
        size_t n;

        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (parse_9_bytes(&p, eol, second) < 0)
            return -EINVAL;
        if (eol - p < 3 || memcmp(p, "t=", 2) != 0)
            return -EINVAL;
        p += 2;
        n = (size_t)(eol - p);
        if (n >= sizeof(num))
            return -EINVAL;
        memcpy(num, p, n);
        num[n] = '\0';
        if (parse_i64(num, &t) < 0)
            return -EINVAL;
        w.has_t = 1;
        w.t_milli = t;
        p = eol;
        if (p < end)
            p++;
        if (p != end)
            return -EINVAL;
    }
    *ret = w;
    return 0;
}

int
ds18b20_decode(unsigned family, const uint8_t sp[9], double *ret_celsius)
{
    int16_t raw;
    unsigned res;

    if (sensor_crc8_dallas(sp, 8) != sp[8])
        return -EBADMSG;
    raw = (int16_t)(uint16_t)(sp[1] << 8 | sp[0]);
    if (family == 0x3b && (sp[4] & 0x80)) {
        /* MAX31850 (thermocouple; config bit 7 always 1, a DS1825's always 0): bit 0 is the
         * fault flag (open, short to GND or VDD in byte 2), bits 15:2 in 0.25 °C steps. */
        if (sp[0] & 0x01)
            return -EIO;
        *ret_celsius = (int16_t)(raw & ~3) / 16.0;
        return 0;
    }
    if (family == 0x28 || family == 0x22 || family == 0x3b) {
        /* DS18B20, DS1822 and DS1825 share the scratchpad layout and the -55..125 °C range. */
        /* An all-zero scratchpad passes the CRC: a shorted bus. The reserved bytes tell. */
        if (sp[7] != 0x10 || sp[5] != 0xff)
            return -EIO;
        /* Power-on value: no conversion ran (or the strong pull-up was too short). */
        if (sp[6] == 0x0c && (raw == 0x0550 || raw == 0x07ff))
            return -EAGAIN;
        res = 9 + ((sp[4] >> 5) & 3u);
        raw = (int16_t)(raw & ~(int16_t)((1 << (12 - res)) - 1));
        if (raw > 125 * 16 || raw < -55 * 16)
            return -ERANGE; /* outside the chip's -55..125 °C: not a temperature it measured */
        *ret_celsius = raw / 16.0;
        return 0;
    }
    if (family == 0x10) {
        /* DS18S20: 0.5 °C LSB, refined with COUNT_REMAIN / COUNT_PER_C. */
        if (sp[7] == 0)
            return -EIO;
        *ret_celsius = (raw & ~1) / 2.0 - 0.25 + (double)(sp[7] - sp[6]) / sp[7];
        return 0;
    }
    *ret_celsius = raw / 16.0;
    return 0;
}

int
sysfs_parse_number(const char *text, size_t len, double *ret)
{
    char tmp[64];
    double v;

    len = strnlen(text, len);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len == 0 || len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, text, len);
    tmp[len] = '\0';
    if (parse_double(tmp, &v) < 0 || !isfinite(v))
        return -EINVAL;
    *ret = v;
    return 0;
}
