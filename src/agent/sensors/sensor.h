/* SPDX-License-Identifier: MIT */
/*
 * sensor.h - the sensor driver layer of soakd: the bus interface drivers talk
 * through, the reading a driver produces, the driver table, and the pure
 * conversion and CRC functions (datasheet math, unit-tested on their own).
 *
 * A driver never opens files or sleeps by itself: every transfer and every
 * datasheet wait goes through struct sensor_bus, so a simulator (sim/) can
 * stand in for /dev/i2c-N, /dev/spidevB.C and the w1 sysfs tree, and can
 * advance a virtual clock instead of sleeping. Drivers never log.
 *
 * Units: every value in a struct sensor_reading is SI as exported
 * (°C, %RH, lux, Pa, V); conversion from raw counts or sysfs milli-units
 * happens in the driver.
 */
#ifndef SOAK_SENSOR_H
#define SOAK_SENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

enum sensor_quantity {
    SENSOR_TEMPERATURE, /* °C */
    SENSOR_HUMIDITY,    /* %RH */
    SENSOR_ILLUMINANCE, /* lux */
    SENSOR_PRESSURE,    /* Pa */
    SENSOR_VOLTAGE,     /* V */
    _SENSOR_QUANTITY_MAX,
    _SENSOR_QUANTITY_INVALID = -22,
};

#define SENSOR_VALUES_MAX 16  /* values one sensor may report per read */
#define SENSOR_CHANNEL_MAX 32 /* bytes of a channel suffix ("voltage0-voltage1") */

struct sensor_value {
    enum sensor_quantity quantity;
    double value;
    char channel[SENSOR_CHANNEL_MAX]; /* "" for the sensor's main channel of that quantity */
};

struct sensor_reading {
    size_t n;
    struct sensor_value v[SENSOR_VALUES_MAX];
};

/* Append a value; -E2BIG when the reading is full. channel may be NULL. */
_warn_unused_result_ int sensor_reading_add(struct sensor_reading *r, enum sensor_quantity q,
                                            double value, const char *channel);

/* ---- bus interface ------------------------------------------------------------------------ */

#define SENSOR_I2C_RD 0x0001 /* same value as the kernel's I2C_M_RD */

struct sensor_i2c_msg {
    uint16_t addr;
    uint16_t flags; /* SENSOR_I2C_RD or 0 */
    uint16_t len;
    uint8_t *buf;
};

/*
 * The bus a driver talks through. Every slot returns 0 (w1_read: the length
 * read) or a negative errno. A device that does not acknowledge returns
 * -ENXIO (the i2c-dev layer maps EREMOTEIO to it too); a stuck bus -ETIMEDOUT.
 * Slots a bus does not support are NULL (callers get -EOPNOTSUPP).
 */
struct sensor_bus_ops {
    const char *name;
    /* One combined I2C transaction (repeated start between messages). */
    int (*i2c_transfer)(void *ctx, struct sensor_i2c_msg *msgs, size_t n);
    /* One full-duplex SPI frame with CS held low for all len bytes. */
    int (*spi_transfer)(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len);
    /* Read attribute attr ("w1_slave", "temperature") of 1-Wire slave id ("28-..."). */
    ssize_t (*w1_read)(void *ctx, const char *id, const char *attr, char *out, size_t size);
    /* Wait at least us microseconds (a simulator advances its clock instead). */
    void (*sleep_us)(void *ctx, unsigned us);
    /* Release the bus; ctx is freed. */
    void (*close)(void *ctx);
};

struct sensor_bus {
    const struct sensor_bus_ops *ops;
    void *ctx;
};

/* Convenience wrappers over the ops. Same returns as the slots. */
_warn_unused_result_ int sensor_i2c_write(struct sensor_bus *b, uint16_t addr, const uint8_t *buf,
                                          size_t n);
_warn_unused_result_ int sensor_i2c_read(struct sensor_bus *b, uint16_t addr, uint8_t *buf,
                                         size_t n);
/* Write then read in one transaction (register read). */
_warn_unused_result_ int sensor_i2c_write_read(struct sensor_bus *b, uint16_t addr,
                                               const uint8_t *wbuf, size_t wn, uint8_t *rbuf,
                                               size_t rn);
_warn_unused_result_ int sensor_spi_transfer(struct sensor_bus *b, const uint8_t *tx, uint8_t *rx,
                                             size_t len);
_warn_unused_result_ ssize_t sensor_w1_read(struct sensor_bus *b, const char *id, const char *attr,
                                            char *out, size_t size);
void sensor_sleep_us(struct sensor_bus *b, unsigned us);
/* Close and free a bus from one of the open functions; accepts NULL; returns NULL. */
struct sensor_bus *sensor_bus_close(struct sensor_bus *b);

/*
 * Open /dev/i2c-N (path under root) for the device at addr: sets the adapter
 * timeout (I2C_TIMEOUT, 100 ms) and one retry, and claims the address with
 * I2C_SLAVE, which fails with -EBUSY when a kernel driver owns the chip (use the
 * hwmon/iio path then). Transfers use I2C_RDWR. Returns 0 and the bus in *ret_bus,
 * or a negative errno (-ENOTTY: path is not an i2c-dev node).
 */
_warn_unused_result_ int sensor_bus_open_i2c(const char *root, const char *path, uint16_t addr,
                                             struct sensor_bus **ret_bus);

/*
 * Open /dev/spidevB.C under root in SPI mode 0, 8 bits per word, at speed_hz.
 * Returns 0 and *ret_bus, or a negative errno.
 */
_warn_unused_result_ int sensor_bus_open_spi(const char *root, const char *path, uint32_t speed_hz,
                                             struct sensor_bus **ret_bus);

/*
 * A 1-Wire "bus" backed by the kernel's w1 sysfs tree under root
 * (/sys/bus/w1/devices/<id>/<attr>). The root string is copied. 0 or -ENOMEM.
 */
_warn_unused_result_ int sensor_bus_open_w1(const char *root, struct sensor_bus **ret_bus);

/* ---- drivers ------------------------------------------------------------------------------- */

enum sensor_bus_kind {
    SENSOR_BUS_I2C,
    SENSOR_BUS_SPI,
    SENSOR_BUS_W1,
    SENSOR_BUS_SYSFS, /* hwmon, iio: the kernel driver, read through files under root */
    _SENSOR_BUS_KIND_MAX,
};

#define SENSOR_PATH_MAX 512
#define SENSOR_SYSFS_CHANNELS 16

/* One channel of a sysfs device, found when the device is probed. */
struct sensor_sysfs_channel {
    enum sensor_quantity quantity;
    char base[64];      /* "temp1", "in_voltage0", "in_pressure" */
    char type_base[40]; /* "in_voltage": where a shared _scale/_offset lives (iio) */
    int has_input;      /* iio: *_input exists (else *_raw with scale/offset) */
    char channel[SENSOR_CHANNEL_MAX];
};

/* A device as a driver sees it: the bus plus what the config said. */
struct sensor_dev {
    struct sensor_bus *bus;       /* not owned; NULL for sysfs drivers */
    const char *root;             /* for sysfs drivers; not owned */
    uint16_t addr;                /* I2C address */
    unsigned channel;             /* ADC channel */
    int differential;             /* ADC: channel N minus its pair */
    double vref;                  /* ADC reference in volts */
    char device[SENSOR_PATH_MAX]; /* w1 id, or a sysfs directory (absolute, without root) */
    unsigned model; /* driver-specific variant (MCP300x channel count, BH1750 MTreg) */
    /* filled by probe */
    char sysfs_dir[SENSOR_PATH_MAX]; /* hwmon/iio: the node device resolved to (may move) */
    int ready; /* probe succeeded; a failed read clears it (reset again next time) */
    size_t nchannels;
    struct sensor_sysfs_channel channels[SENSOR_SYSFS_CHANNELS];
    char chip[32];        /* what the probe found ("shtc3", sysfs name, w1 family) */
    double read_estimate; /* iio: seconds one read takes at the device's sampling_frequency */
};

struct sensor_driver {
    const char *name; /* config "driver = " value */
    const char *chip; /* default chip label */
    enum sensor_bus_kind bus;
    uint16_t default_addr; /* I2C; 0 if none */
    /* Reset the chip and check its identity. 0 or negative errno (-ENODEV wrong chip). */
    int (*probe)(struct sensor_dev *d);
    /* One single-shot measurement into *ret (only written on success). */
    int (*read)(struct sensor_dev *d, struct sensor_reading *ret);
};

/* The table of drivers, NULL-terminated, and lookup by config name (NULL when unknown). */
extern const struct sensor_driver *const sensor_drivers[];
const struct sensor_driver *sensor_driver_find(const char *name);

extern const struct sensor_driver sensor_driver_sht3x;
extern const struct sensor_driver sensor_driver_shtc3;
extern const struct sensor_driver sensor_driver_aht20;
extern const struct sensor_driver sensor_driver_bh1750;
extern const struct sensor_driver sensor_driver_lps25;
extern const struct sensor_driver sensor_driver_mcp3002;
extern const struct sensor_driver sensor_driver_ds18b20;
extern const struct sensor_driver sensor_driver_w1;
extern const struct sensor_driver sensor_driver_hwmon;
extern const struct sensor_driver sensor_driver_iio;

/* ---- CRCs and conversions (pure functions) ------------------------------------------------ */

/* Sensirion CRC-8 (poly 0x31, init 0xFF, MSB first); also the AHT20 CRC. */
uint8_t sensor_crc8_sensirion(const uint8_t *data, size_t n);
/* Dallas/Maxim 1-Wire CRC-8 (poly 0x31 reflected = 0x8C, init 0). */
uint8_t sensor_crc8_dallas(const uint8_t *data, size_t n);

/* SHT3x: T = -45 + 175*ST/65535 °C, RH = 100*SRH/65535 %. */
void sht3x_convert(uint16_t st, uint16_t srh, double *ret_celsius, double *ret_percent);
/* SHTC3: T = -45 + 175*ST/65536 °C, RH = 100*SRH/65536 %. */
void shtc3_convert(uint16_t st, uint16_t srh, double *ret_celsius, double *ret_percent);
/*
 * Check a 6-byte Sensirion frame (word, CRC, word, CRC) and return both words.
 * 0 or -EBADMSG on a CRC mismatch.
 */
_warn_unused_result_ int sensirion_frame(const uint8_t b[6], uint16_t *ret_w0, uint16_t *ret_w1);
/* AHT20: the 7-byte frame (status, 5 data bytes, CRC) -> °C and %RH.
 * -EBADMSG on a CRC mismatch, -EBUSY when the busy bit is set. */
_warn_unused_result_ int aht20_convert(const uint8_t b[7], double *ret_celsius,
                                       double *ret_percent);
/* BH1750: lux = raw / 1.2 * 69 / mtreg, halved in H-res mode 2 (hres2 != 0). */
double bh1750_lux(uint16_t raw, unsigned mtreg, int hres2);
/* LPS25: pressure Pa = signed24 / 4096 * 100, T °C = 42.5 + signed16 / 480. */
void lps25_convert(const uint8_t press_xl_l_h[3], const uint8_t temp_l_h[2], double *ret_pascals,
                   double *ret_celsius);
/* MCP300x: V = code * vref / 1024. */
double mcp3002_volts(unsigned code, double vref);
/*
 * Decode the 3 bytes received for one conversion of an MCP300x with nch
 * channels (2: MCP3002 24-clock MSBF=0 frame; 4/8: MCP3004/3008 frame).
 * 0, -EIO (null bit high: MISO stuck high / no chip), -EBADMSG (the MCP3002's
 * LSB-first repeat disagrees with the word).
 */
_warn_unused_result_ int mcp300x_decode(unsigned nch, const uint8_t rx[3], unsigned *ret_code);

/* Chip name of a w1_therm family code (0x28 -> "ds18b20"); NULL when not a thermometer. */
const char *w1_family_chip(unsigned family);

/*
 * Classify an IIO attribute file name ("in_voltage0_raw", "in_temp_input",
 * "in_pressure_raw") into a channel: quantity, base ("in_voltage0"), the
 * type-wide base for shared _scale/_offset ("in_voltage"), the channel suffix
 * ("voltage0", "" for an unindexed channel) and whether it is an _input.
 * 0, or -EINVAL when the name is not a channel soak exports.
 */
_warn_unused_result_ int iio_channel_parse(const char *file, struct sensor_sysfs_channel *ret);

/* ---- sysfs discovery ----------------------------------------------------------------------- */

#define SENSOR_LABEL_MAX 64

struct sensor_found {
    const struct sensor_driver *driver; /* &sensor_driver_hwmon, _iio or _w1 */
    char device[SENSOR_PATH_MAX];       /* sysfs directory or w1 id, without the root */
    char label[SENSOR_LABEL_MAX];       /* "sht3x@1-0044", "bh1750@1-0023", "28-04160b1e64ff" */
    char chip[32];                      /* hwmon/iio name, w1 family chip */
};

/*
 * Find the sensors the kernel already drives, under root:
 *  - hwmon devices whose parent sits on an i2c or spi bus (SoC thermal and
 *    fan/PMIC nodes are the collectors' business), by /sys/class/hwmon/hwmonK;
 *  - every IIO device under /sys/bus/iio/devices with an illuminance, pressure,
 *    temperature, relative humidity or voltage channel;
 *  - every w1_therm slave under /sys/bus/w1/devices.
 * Fills at most max entries, sorted by label, and returns how many (the
 * count of all found, which may exceed max), or a negative errno on a
 * failure other than "no such directory".
 */
_warn_unused_result_ int sensor_discover(const char *root, struct sensor_found *out, size_t max);

/* ---- 1-Wire text --------------------------------------------------------------------------- */

struct w1_slave_text {
    uint8_t bytes[9]; /* scratchpad as printed on line 1 */
    int crc_yes;      /* line 1 ends in YES */
    int has_t;        /* line 2 had t= */
    int64_t t_milli;  /* the kernel's t= value */
};

/*
 * Parse the text of a w1_slave file: "xx xx .. xx : crc=xx YES|NO\nxx .. t=N\n".
 * Returns 0, -ENODATA for an empty file (newer kernels on a CRC failure or an
 * absent slave), -EINVAL for anything malformed. Bounded: reads at most len bytes.
 */
_warn_unused_result_ int w1_parse_slave(const char *text, size_t len, struct w1_slave_text *ret);

/*
 * Validate a DS18B20-family scratchpad (family code ff) and decode it to °C:
 * recomputes the Dallas CRC, rejects the all-zero pattern (bus shorted low),
 * the power-on 85 °C value and 0x07FF when byte 6 is 0x0C (no conversion ran),
 * and masks the undefined low bits at 9..11-bit resolution.
 * Returns 0, -EBADMSG (CRC), -EIO (implausible pattern), -EAGAIN (no conversion),
 * -ERANGE (outside -55..125 °C). Family 0x3B is a DS1825 (decoded the same) unless config
 * bit 7 is set: then a MAX31850, whose bit 0 is its fault flag (-EIO) and whose range is wider.
 */
_warn_unused_result_ int ds18b20_decode(unsigned family, const uint8_t sp[9], double *ret_celsius);

/*
 * Parse a sysfs number ("-12345\n", "0.833333", "20400.000000000") in the C
 * locale, accepting one trailing newline. 0 or -EINVAL.
 */
_warn_unused_result_ int sysfs_parse_number(const char *text, size_t len, double *ret);

#endif
