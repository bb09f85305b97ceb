/* SPDX-License-Identifier: MIT */
/*
 * mcp3002.c - Microchip MCP3002 (and MCP3004/MCP3008) over spidev.
 *
 * MCP3002: one 24-clock frame with the start bit on the first clock and
 * MSBF=0, so after B9..B0 the chip repeats B1..B9 LSB first. SPI has no ACK
 * or CRC; the null bit (must read 0) catches MISO stuck high or no chip, and
 * the LSB-first repeat must mirror the word (catches noise and a wrong SPI
 * mode). A chip that pulls MISO low reads as a valid 0 V: SPI cannot tell.
 * MCP3004/3008: the datasheet's 3-byte frame 01, SGL<<7|CH<<4, 00; null bit check.
 */
#include <errno.h>

#include "sensor.h"

static int
mcp3002_probe(struct sensor_dev *d)
{
    unsigned nch = d->model ? d->model : 2;

    if (nch != 2 && nch != 4 && nch != 8)
        return -EINVAL;
    if (d->channel >= nch)
        return -EINVAL;
    if (d->vref <= 0)
        return -EINVAL;
    return 0;
}

int
mcp300x_decode(unsigned nch, const uint8_t rx[3], unsigned *ret_code)
{
    uint32_t w = (uint32_t)rx[0] << 16 | (uint32_t)rx[1] << 8 | rx[2];
    unsigned code;

    if (nch == 2) {
        if (w & (1u << 19))
            return -EIO; /* null bit high: MISO stuck high or no chip */
        code = (w >> 9) & 0x3ff;
        for (unsigned k = 1; k <= 9; k++)
            if (((w >> (9 - k)) & 1u) != ((code >> k) & 1u))
                return -EBADMSG; /* LSB-first repeat disagrees */
    } else {
        if (rx[1] & 0x04)
            return -EIO;
        code = (unsigned)(rx[1] & 0x03) << 8 | rx[2];
    }
    *ret_code = code;
    return 0;
}

static int
mcp3002_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};
    unsigned nch = d->model ? d->model : 2, code;
    unsigned sgl = d->differential ? 0 : 1;
    uint8_t tx[3] = {0}, rx[3] = {0};
    int r;

    if (nch == 2) {
        /* START, SGL/DIFF, ODD/SIGN, MSBF=0 on clocks 0..3. */
        tx[0] = (uint8_t)(0x80 | sgl << 6 | (d->channel & 1u) << 5);
    } else {
        tx[0] = 0x01;
        tx[1] = (uint8_t)(sgl << 7 | (d->channel & 7u) << 4);
    }
    r = sensor_spi_transfer(d->bus, tx, rx, 3);
    if (r < 0)
        return r;
    r = mcp300x_decode(nch, rx, &code);
    if (r < 0)
        return r;
    if (sensor_reading_add(&rd, SENSOR_VOLTAGE, mcp3002_volts(code, d->vref), NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_mcp3002 = {
    .name = "mcp3002",
    .chip = "mcp3002",
    .bus = SENSOR_BUS_SPI,
    .probe = mcp3002_probe,
    .read = mcp3002_read,
};
