/* nn_units.c - human-readable quantities (nn_units.h). */
#include "nn_units.h"

#include <stdio.h>
#include <stdlib.h>

const char *nn_bytes_text(double b, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", b, unit[u]);
    return buf;
}

const char *nn_seconds_text(double s, char *buf, size_t len)
{
    if (s < 1.0)
        snprintf(buf, len, "%.0f ms", s * 1e3);
    else if (s < 120)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, len, "%.1f min", s / 60);
    else
        snprintf(buf, len, "%.1f h", s / 3600);
    return buf;
}

double nn_parse_bytes(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    double k = 1024.0, unit = *end == 'K' || *end == 'k' ? k
                             : *end == 'M' || *end == 'm' ? k * k
                             : *end == 'G' || *end == 'g' ? k * k * k
                             : *end == 'T' || *end == 't' ? k * k * k * k : 1.0;
    if (unit != 1.0)
        end++;
    return end == s || *end || !(v > 0) ? -1 : v * unit;
}
