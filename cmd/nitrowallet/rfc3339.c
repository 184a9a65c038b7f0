/*
 * rfc3339.c - strict RFC 3339 (section 5.6, "date-time") parsing and UTC
 * formatting for the CLI's --at option and its output.
 *
 * Written without strptime/timegm, so nothing depends on the locale or the
 * TZ variable: the calendar arithmetic is the proleptic Gregorian day count
 * (days from 1970-01-01 of a civil date).  Input comes from the command line.
 */
#include "rfc3339.h"

#include <stdio.h>
#include <time.h>

/* Read exactly `n` decimal digits. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;

    while (n-- > 0) {
        if (**s < '0' || **s > '9')
            return -1;
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    *out = v;
    return 0;
}

static int expect(const char **s, char c)
{
    if (**s != c)
        return -1;
    (*s)++;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01 to y-m-d (y >= 1970). */
static int64_t days_from_epoch(int y, int m, int d)
{
    int64_t days = 0;
    int i;

    for (i = 1970; i < y; i++)
        days += is_leap(i) ? 366 : 365;
    for (i = 1; i < m; i++)
        days += days_in_month(y, i);
    return days + d - 1;
}

/* "(.digits)?" after the seconds: the first three digits are milliseconds. */
static int fraction(const char **s, int *ms)
{
    int n = 0;

    *ms = 0;
    if (**s != '.')
        return 0;
    (*s)++;
    while (**s >= '0' && **s <= '9') {
        if (n < 3)
            *ms = *ms * 10 + (**s - '0');
        n++;
        (*s)++;
    }
    if (n == 0 || n > 9)
        return -1;
    for (; n < 3; n++)
        *ms *= 10;
    return 0;
}

/* "Z" or "+HH:MM" / "-HH:MM": the offset in minutes east of UTC. */
static int offset(const char **s, int *minutes)
{
    int sign, h, m;

    if (**s == 'Z' || **s == 'z') {
        (*s)++;
        *minutes = 0;
        return 0;
    }
    if (**s != '+' && **s != '-')
        return -1;
    sign = **s == '-' ? -1 : 1;
    (*s)++;
    if (digits(s, 2, &h) || expect(s, ':') || digits(s, 2, &m) || h > 23 || m > 59)
        return -1;
    *minutes = sign * (h * 60 + m);
    return 0;
}

int rfc3339_parse(int64_t *ms, const char *s)
{
    int y, mo, d, h, mi, sec, frac, off;
    int64_t t;

    if (digits(&s, 4, &y) || expect(&s, '-') || digits(&s, 2, &mo) || expect(&s, '-') || digits(&s, 2, &d))
        return -1;
    if (*s != 'T' && *s != 't')
        return -1;
    s++;
    if (digits(&s, 2, &h) || expect(&s, ':') || digits(&s, 2, &mi) || expect(&s, ':') || digits(&s, 2, &sec))
        return -1;
    if (fraction(&s, &frac) || offset(&s, &off) || *s != '\0')
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;
    t = ((days_from_epoch(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec - (int64_t)off * 60;
    if (t < 0)
        return -1;
    *ms = t * 1000 + frac;
    return 0;
}

int rfc3339_format(char out[RFC3339_SIZE], uint64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    int n;

    if (ms / 1000 > (uint64_t)253402300799) /* 9999-12-31T23:59:59Z */
        return -1;
    if (gmtime_r(&secs, &tm) == NULL)
        return -1;
    n = snprintf(out, RFC3339_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    return n == RFC3339_SIZE - 1 ? 0 : -1;
}
