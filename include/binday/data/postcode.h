/* postcode.h - UK postcode normalisation and validation.
 *
 * Normal form: uppercase, one space before the inward code ("NR19 1EE").
 * Input may be any case, with any whitespace or punctuation in it.
 */
#ifndef BINDAY_POSTCODE_H
#define BINDAY_POSTCODE_H

#include <stddef.h>
#include <stdint.h>

#define POSTCODE_MAX 9 /* "AA9A 9AA" + NUL */

/* Normalise and validate. Returns the length written to out (6..8, NUL-
 * terminated), or -1 when the input is not a UK postcode. */
int postcode_normalize(const uint8_t *in, size_t len, char out[POSTCODE_MAX]);
/* Length of the outward code of a normalised postcode. */
size_t postcode_outward_len(const char *norm);
/* Does a normalised postcode fall under a scope prefix ("NR19", "NR19 1",
 * "NR19 1EE")? A prefix that is a whole outward code must match the whole
 * outward code, so "NR1" does not cover "NR19 1EE". */
int postcode_in_prefix(const char *norm, const char *prefix, size_t prefix_len);

#endif
