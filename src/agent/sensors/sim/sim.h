/* SPDX-License-Identifier: MIT */
/*
 * sim.h - register-level simulators of the farm's sensor chips behind the
 * sensor bus interface (struct sensor_bus), for the agent's tests, `soak sim`
 * and the demo. Not linked into soakd (see docs/internals/SENSORS.md).
 *
 * A struct sim_bus holds up to SIM_CHIPS_MAX chip models on one bus and a
 * virtual clock in microseconds: a driver's datasheet wait (sleep_us) advances
 * the clock instead of sleeping, so a 750 ms DS18B20 conversion costs nothing
 * in a test. Each model answers the chip's commands, is busy while measuring
 * (early reads are NACKed or return the previous value, as the chip does),
 * computes CRCs and status bits, and can be given faults (enum sim_fault).
 * All calls are thread-safe (one mutex per bus).
 */
#ifndef SOAK_SENSOR_SIM_H
#define SOAK_SENSOR_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "sensor.h"

#define SIM_CHIPS_MAX 8

enum sim_fault {
    SIM_FAULT_NACK = 1 << 0,     /* unplugged: address NACK (ENXIO); w1 slave gone (ENOENT);
                                    SPI: MISO floats high */
    SIM_FAULT_CRC = 1 << 1,      /* corrupted CRC (SPI: corrupted LSB-first repeat) */
    SIM_FAULT_BUSY = 1 << 2,     /* measurement never completes: SHT3x/SHTC3 NACK the read,
                                    AHT20 busy bit stuck, LPS25 ONE_SHOT never clears,
                                    DS18B20 no conversion (power-on value) */
    SIM_FAULT_POWER_ON = 1 << 3, /* DS18B20: scratchpad still holds +85 °C, byte 6 = 0x0C */
    SIM_FAULT_ALL_FF = 1 << 4,   /* floating bus: every byte read is 0xFF */
    SIM_FAULT_ALL_ZERO = 1 << 5, /* bus shorted low: every byte read is 0x00 */
    SIM_FAULT_WRONG_ID = 1 << 6, /* LPS25 WHO_AM_I 0xB1 (an LPS22HB); SHTC3 ID of an SHTC1 */
    SIM_FAULT_UNCAL = 1 << 7,    /* AHT20: CAL bit clear and the init command does not set it */
    SIM_FAULT_SLOW = 1 << 8,     /* every transfer really sleeps slow_us (default 200 ms) */
};

struct sim_bus;
struct sim_chip;

/* A bus with no chips; 0 or -ENOMEM. Free with sim_bus_free() unless handed to a sensor_bus. */
_warn_unused_result_ int sim_bus_new(struct sim_bus **ret);
void sim_bus_free(struct sim_bus *b);

/*
 * Wrap the bus in a struct sensor_bus for drivers. Closing that sensor_bus
 * frees the sim bus. 0 or -ENOMEM.
 */
_warn_unused_result_ int sim_bus_to_sensor_bus(struct sim_bus *b, struct sensor_bus **ret);
/* The sim bus behind a sensor_bus made by sim_bus_to_sensor_bus() or the hook; NULL otherwise. */
struct sim_bus *sim_bus_from(struct sensor_bus *sb);

/*
 * Add a chip model. kind is a driver name: sht3x, shtc3, aht20, bh1750, lps25,
 * mcp3002 (2 channels; mcp3004/mcp3008 for 4/8), ds18b20. addr is the I2C
 * address (ignored for SPI/w1), w1_id the 1-Wire id ("28-04160b1e64ff") for
 * ds18b20. Returns the chip (owned by the bus) or NULL (unknown kind, full).
 * Initial values: 25 °C, 50 %RH, 100 lux, 101325 Pa, 1.65 V on every channel.
 */
struct sim_chip *sim_bus_add(struct sim_bus *b, const char *kind, uint16_t addr, const char *w1_id);
/* The chip at index i (0 = first added), NULL past the end. */
struct sim_chip *sim_bus_chip(struct sim_bus *b, size_t i);

/* Physical values the chip will measure next (clamped to its range when measured). */
void sim_chip_set_temperature(struct sim_chip *c, double celsius);
void sim_chip_set_humidity(struct sim_chip *c, double percent);
void sim_chip_set_illuminance(struct sim_chip *c, double lux);
void sim_chip_set_pressure(struct sim_chip *c, double pascals);
void sim_chip_set_voltage(struct sim_chip *c, unsigned channel, double volts);
/* Faults (enum sim_fault bits) replace the current set; 0 heals the chip. */
void sim_chip_set_faults(struct sim_chip *c, unsigned faults);
/* Real delay of every transfer while SIM_FAULT_SLOW is set, in microseconds. */
void sim_chip_set_slow_us(struct sim_chip *c, unsigned us);
/* DS18B20: render w1 files like kernels >= 5.9 (1, default) or older ones (0). */
void sim_chip_set_w1_new_kernel(struct sim_chip *c, int on);
/* Transfers (I2C transactions, SPI frames, w1 reads) the chip has seen. */
uint64_t sim_chip_transfers(struct sim_chip *c);

/*
 * The gate: while held, every transfer on the bus blocks until released,
 * which lets a test freeze a sensor mid-read deterministically.
 */
void sim_bus_hold(struct sim_bus *b, int held);
/* Transfers currently blocked at the gate. */
unsigned sim_bus_blocked(struct sim_bus *b);
/* The virtual clock, microseconds since the bus was made. */
uint64_t sim_bus_now_us(struct sim_bus *b);

/*
 * The hook sensors.c calls for `bus = sim`: a new sim bus holding one chip of
 * the sensor's driver at its address (or w1 device). 0 or negative errno.
 */
int sensor_sim_bus_open(const char *spec, const struct sensor_driver *drv,
                        const struct sensor_dev *dev, struct sensor_bus **ret_bus);

#endif
