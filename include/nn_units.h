/* nn_units.h - human-readable quantities for messages and reports. */
#ifndef NN_UNITS_H
#define NN_UNITS_H

#include <stddef.h>

/* "812.0 B", "5.4 MiB", "1.9 GiB" (powers of 1024) into buf; returns buf. */
const char *nn_bytes_text(double bytes, char *buf, size_t len);
/* "123", "64K", "512M", "4G", "2T" (powers of 1024) in bytes; -1 when malformed or not positive. */
double nn_parse_bytes(const char *text);
/* "40 ms", "42.0 s", "3.5 min", "2.1 h" into buf; returns buf. */
const char *nn_seconds_text(double seconds, char *buf, size_t len);

#endif
