/* test_alexa_api.c - the pure half of the Alexa API client: endpoint and
 * token checks, URL building, classification, body parsers. */
#include <string.h>

#include "binday/alexa/alexa_api.h"
#include "tap.h"

#define B(s) (const uint8_t *)(s), strlen(s)

static void test_endpoints(void)
{
    ok(alexa_api_endpoint_ok("https://api.amazonalexa.com"), "NA host");
    ok(alexa_api_endpoint_ok("https://api.eu.amazonalexa.com"), "EU host");
    ok(alexa_api_endpoint_ok("https://api.fe.amazonalexa.com/"), "FE host with trailing slash");
    const char *bad[] = {"http://api.eu.amazonalexa.com", "https://api.eu.amazonalexa.com.evil.com",
                         "https://evil.com/https://api.eu.amazonalexa.com", "https://API.EU.AMAZONALEXA.COM",
                         "https://api.eu.amazonalexa.com:8443", "https://user@api.eu.amazonalexa.com",
                         "https://api.eu.amazonalexa.com//", "https://api.eu.amazonalexa.com/v1",
                         "https://api.amazonalexa.com.", "", "https://api.xx.amazonalexa.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(!alexa_api_endpoint_ok(bad[i]), "refused endpoint '%s'", bad[i]);
    ok(!alexa_api_endpoint_ok(NULL), "NULL endpoint refused");
}

static void test_tokens(void)
{
    ok(alexa_api_token_ok("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.sig-_~+/=="), "JWT token");
    ok(alexa_api_token_ok("tok-granted"), "test token");
    const char *bad[] = {"", "a b", "abc\r\nX-Evil: 1", "abc\n", "tok\t", "=abc", "ab=c", "tok\"", "tök"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(!alexa_api_token_ok(bad[i]), "refused token #%zu", i);
    ok(!alexa_api_token_ok(NULL), "NULL token refused");
    {   /* every byte value inside a token: accepted exactly for the b64token set */
        static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/";
        int right = 0;
        for (int c = 1; c < 256; c++) {
            char tk[4] = {'a', (char)c, 'b', '\0'};
            right += alexa_api_token_ok(tk) == (strchr(set, c) != NULL);
        }
        is_int(right, 255, "every byte inside a token: accepted exactly by the b64token set");
    }
    static char big[ALEXA_API_MAX_TOKEN + 2];
    memset(big, 'a', ALEXA_API_MAX_TOKEN + 1);
    ok(!alexa_api_token_ok(big), "overlong token refused");
    big[ALEXA_API_MAX_TOKEN] = '\0';
    ok(alexa_api_token_ok(big), "token at the limit accepted");
}

static void test_urls(void)
{
    char u[2048];
    is_int(alexa_api_address_url(u, sizeof(u), "https://api.eu.amazonalexa.com", "amzn1.ask.device.AB/c+d=e f"), 0,
           "address url");
    is_str(u, "https://api.eu.amazonalexa.com/v1/devices/amzn1.ask.device.AB%2Fc%2Bd%3De%20f/settings/address",
           "device id percent-encoded");
    is_int(alexa_api_address_url(u, sizeof(u), "https://api.amazonalexa.com/", "d-1_~"), 0, "trailing slash endpoint");
    is_str(u, "https://api.amazonalexa.com/v1/devices/d-1_~/settings/address", "no double slash");
    is_int(alexa_api_address_url(u, sizeof(u), "https://evil.example", "d"), -1, "bad endpoint refused");
    is_int(alexa_api_address_url(u, sizeof(u), "https://api.amazonalexa.com", ""), -1, "empty device id refused");
    is_int(alexa_api_address_url(u, 40, "https://api.amazonalexa.com", "device"), -1, "small buffer refused");
    static char big[ALEXA_API_MAX_DEVICE_ID + 2];
    memset(big, 'd', ALEXA_API_MAX_DEVICE_ID + 1);
    is_int(alexa_api_address_url(u, sizeof(u), "https://api.amazonalexa.com", big), -1, "overlong device id refused");
}

static void test_classify(void)
{
    is_int(alexa_api_classify(OUTBOUND_OK, 200, B("\"Jane\"")), ALEXA_API_OK, "200");
    is_int(alexa_api_classify(OUTBOUND_OK, 204, NULL, 0), ALEXA_API_NOT_SET, "204");
    is_int(alexa_api_classify(OUTBOUND_OK, 401, B("{}")), ALEXA_API_BAD_TOKEN, "401");
    is_int(alexa_api_classify(OUTBOUND_OK, 429, NULL, 0), ALEXA_API_THROTTLED, "429");
    is_int(alexa_api_classify(OUTBOUND_OK, 403, B("{\"code\":\"ACCESS_NOT_REQUESTED\",\"message\":\"x\"}")),
           ALEXA_API_PERMISSION_MISSING, "403 ACCESS_NOT_REQUESTED");
    is_int(alexa_api_classify(OUTBOUND_OK, 403, NULL, 0), ALEXA_API_PERMISSION_MISSING, "plain 403");
    is_int(alexa_api_classify(OUTBOUND_OK, 403, B("{\"code\":\"FORBIDDEN\",\"message\":\"x\"}")),
           ALEXA_API_DEPLOYMENT_ERROR, "403 FORBIDDEN");
    is_int(alexa_api_classify(OUTBOUND_OK, 403, B("<html>Permission scope cannot be requested</html>")),
           ALEXA_API_DEPLOYMENT_ERROR, "403 'cannot be requested' in a non-JSON body");
    is_int(alexa_api_classify(OUTBOUND_OK, 403, B("<HTML><TITLE>ERROR: The request could not be satisfied</TITLE>")),
           ALEXA_API_PERMISSION_MISSING, "CloudFront HTML 403 is not a deployment error");
    is_int(alexa_api_classify(OUTBOUND_OK, 500, B("oops")), ALEXA_API_UNAVAILABLE, "500");
    is_int(alexa_api_classify(OUTBOUND_OK, 503, NULL, 0), ALEXA_API_UNAVAILABLE, "503");
    is_int(alexa_api_classify(OUTBOUND_OK, 302, NULL, 0), ALEXA_API_UNAVAILABLE, "redirect");
    is_int(alexa_api_classify(OUTBOUND_OK, 404, NULL, 0), ALEXA_API_UNAVAILABLE, "404");
    is_int(alexa_api_classify(OUTBOUND_E_TIMEOUT, 0, NULL, 0), ALEXA_API_UNAVAILABLE, "timeout");
    is_int(alexa_api_classify(OUTBOUND_E_CONNECT, 0, NULL, 0), ALEXA_API_UNAVAILABLE, "connect error");
    is_int(alexa_api_classify(OUTBOUND_E_TLS, 200, NULL, 0), ALEXA_API_UNAVAILABLE, "tls error");
    is_str(alexa_api_status_name(ALEXA_API_DEPLOYMENT_ERROR), "deployment_error", "status name");
}

static void test_strings(void)
{
    char out[ALEXA_API_MAX_TEXT + 1];
    is_int(alexa_api_parse_string(B("\"Jane\""), out, sizeof(out)), 0, "given name");
    is_str(out, "Jane", "given name value");
    is_int(alexa_api_parse_string(B(" \"  Zo\\u00eb  \" "), out, sizeof(out)), 0, "unicode escape and spaces");
    is_str(out, "Zo\xc3\xab", "trimmed, UTF-8");
    is_int(alexa_api_parse_string(B("\"jane@example.com\""), out, sizeof(out)), 0, "email");
    is_int(alexa_api_parse_string(B("null"), out, sizeof(out)), 1, "null = not set");
    is_int(alexa_api_parse_string(B("\"\""), out, sizeof(out)), 1, "empty = not set");
    is_int(alexa_api_parse_string(B("\"   \""), out, sizeof(out)), 1, "spaces = not set");
    is_int(alexa_api_parse_string(B("\"a\\r\\nBcc: x\""), out, sizeof(out)), -1, "CR/LF refused");
    is_str(out, "", "output cleared on refusal");
    is_int(alexa_api_parse_string(B("\"a\\u0000b\""), out, sizeof(out)), -1, "NUL refused");
    is_int(alexa_api_parse_string(B("\"a\\u007fb\""), out, sizeof(out)), -1, "DEL refused");
    is_int(alexa_api_parse_string(B("{\"name\":\"x\"}"), out, sizeof(out)), -1, "object refused");
    is_int(alexa_api_parse_string(B("42"), out, sizeof(out)), -1, "number refused");
    is_int(alexa_api_parse_string(B("\"unterminated"), out, sizeof(out)), -1, "bad JSON refused");
    is_int(alexa_api_parse_string(B("<html>403</html>"), out, sizeof(out)), -1, "HTML refused");
    is_int(alexa_api_parse_string(B("\"\xff\xfe\""), out, sizeof(out)), -1, "invalid UTF-8 refused");
    is_int(alexa_api_parse_string(NULL, 0, out, sizeof(out)), -1, "NULL body refused");
    char small[4];
    is_int(alexa_api_parse_string(B("\"Janet\""), small, sizeof(small)), -1, "too long for the buffer");
    char big[ALEXA_API_MAX_TEXT + 10];
    big[0] = '"';
    memset(big + 1, 'a', ALEXA_API_MAX_TEXT + 1);
    big[ALEXA_API_MAX_TEXT + 2] = '"';
    is_int(alexa_api_parse_string((const uint8_t *)big, ALEXA_API_MAX_TEXT + 3, out, sizeof(out)), -1,
           "over the text cap");
}

static void test_address(void)
{
    alexa_address_t a, b;
    is_int(alexa_api_parse_address(B("{\"addressLine1\":\"12 High Street\",\"addressLine2\":\"Flat 2\","
                                     "\"addressLine3\":null,\"city\":\"Dereham\",\"districtOrCounty\":\"Norfolk\","
                                     "\"stateOrRegion\":\"\",\"countryCode\":\"GB\",\"postalCode\":\"nr19 1ee\","
                                     "\"extra\":{\"x\":1}}"),
                                   &a),
           0, "full address");
    is_str(a.address_line1, "12 High Street", "line1");
    is_str(a.address_line2, "Flat 2", "line2");
    ok(a.address_line3 == NULL, "null line3 -> NULL");
    is_str(a.city, "Dereham", "city");
    is_str(a.district_or_county, "Norfolk", "district");
    ok(a.state_or_region == NULL, "empty state -> NULL");
    is_str(a.country_code, "GB", "country");
    is_str(a.postal_code, "nr19 1ee", "postcode as typed");
    alexa_address_copy(&b, &a);
    memset(a.store_, 'z', sizeof(a.store_));
    is_str(b.address_line1, "12 High Street", "copy is independent");
    ok(b.address_line3 == NULL && b.state_or_region == NULL, "copy keeps NULLs");

    is_int(alexa_api_parse_address(B("{\"stateOrRegion\":null,\"city\":null,\"countryCode\":\"US\","
                                     "\"districtOrCounty\":null,\"postalCode\":\"20146\",\"addressLine1\":null,"
                                     "\"addressLine2\":null,\"addressLine3\":null}"),
                                   &a),
           0, "Amazon's certification address");
    is_str(a.postal_code, "20146", "20146");
    is_str(a.country_code, "US", "US");
    ok(a.address_line1 == NULL && a.city == NULL, "other fields NULL");
    is_int(alexa_api_parse_address(B("{}"), &a), 0, "empty object: all absent");
    ok(a.postal_code == NULL && a.country_code == NULL, "all NULL");
    is_int(alexa_api_parse_address(B("[]"), &a), -1, "array refused");
    is_int(alexa_api_parse_address(B("\"x\""), &a), -1, "string refused");
    is_int(alexa_api_parse_address(B("{\"city\":5}"), &a), -1, "number field refused");
    ok(a.city == NULL && a.postal_code == NULL, "refusal clears the struct");
    is_int(alexa_api_parse_address(B("{\"city\":\"a\\nb\"}"), &a), -1, "control char refused");
    is_int(alexa_api_parse_address(B("{\"city\":\"x\""), &a), -1, "truncated JSON refused");
    is_int(alexa_api_parse_address(NULL, 0, &a), -1, "NULL refused");
    char big[ALEXA_API_MAX_FIELD + 64];
    int n = snprintf(big, sizeof(big), "{\"city\":\"");
    memset(big + n, 'c', ALEXA_API_MAX_FIELD + 1);
    n += ALEXA_API_MAX_FIELD + 1;
    memcpy(big + n, "\"}", 3);
    is_int(alexa_api_parse_address((const uint8_t *)big, strlen(big), &a), -1, "over-long field refused");
    big[n - 1] = '"';
    big[n] = '}';
    big[n + 1] = '\0';
    is_int(alexa_api_parse_address((const uint8_t *)big, strlen(big), &a), 0, "field at the limit accepted");
    is_int(strlen(a.city), ALEXA_API_MAX_FIELD, "limit length");
}

int main(void)
{
    test_endpoints();
    test_tokens();
    test_urls();
    test_classify();
    test_strings();
    test_address();
    return done_testing();
}
