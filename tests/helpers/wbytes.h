/* tests/helpers/wbytes.h - a byte writer for hand-built capture files, in
 * either byte order: the test defines WB_CAP (bytes) before including it and
 * writes with w8/w16/w32 into buf[0..len), in big-endian order while `be` is
 * set. One copy for the tests that build pcap and pcapng files by hand. */
#ifndef LK_TESTS_WBYTES_H
#define LK_TESTS_WBYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static uint8_t buf[WB_CAP];
static size_t len;
static bool be;

static void w8(uint8_t v) { buf[len++] = v; }
static void w16(uint16_t v)
{
	if (be) { w8((uint8_t)(v >> 8)); w8((uint8_t)v); }
	else { w8((uint8_t)v); w8((uint8_t)(v >> 8)); }
}
static void w32(uint32_t v)
{
	if (be) { w16((uint16_t)(v >> 16)); w16((uint16_t)v); }
	else { w16((uint16_t)v); w16((uint16_t)(v >> 16)); }
}

#endif
