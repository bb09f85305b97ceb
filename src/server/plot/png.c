/* SPDX-License-Identifier: MIT */
/*
 * png.c - a small PNG encoder for cairo RGB24 image surfaces, tuned for charts:
 * truecolour 8 bit, the "Sub" filter on every row and zlib's fastest level with
 * the run-length strategy (a chart is mostly runs of one colour). About 3x
 * faster than cairo_surface_write_to_png() (libpng's defaults) for a file a
 * little larger. Format: PNG specification (ISO/IEC 15948), chunks IHDR, IDAT,
 * IEND, each with its CRC-32.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "plot-internal.h"

#define PNG_OUT_CHUNK (64 * 1024) /* bytes of compressed data per IDAT chunk */

static void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int
chunk(plot_write_fn wr, void *ctx, const char type[4], const unsigned char *data, size_t n)
{
    unsigned char head[8], tail[4];
    uLong crc;
    int r;

    put32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    crc = crc32(0L, head + 4, 4);
    if (n)
        crc = crc32(crc, data, (uInt)n);
    put32(tail, (uint32_t)crc);
    r = wr(ctx, head, sizeof(head));
    if (r == 0 && n)
        r = wr(ctx, data, n);
    if (r == 0)
        r = wr(ctx, tail, sizeof(tail));
    return r;
}

int
plot_png_write(cairo_surface_t *surf, plot_write_fn wr, void *ctx)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    _cleanup_free_ unsigned char *row = NULL, *out = NULL;
    const unsigned char *data;
    int w, h, stride, r, zr = Z_OK;
    z_stream zs;

    if (cairo_image_surface_get_format(surf) != CAIRO_FORMAT_RGB24)
        return -EINVAL;
    cairo_surface_flush(surf);
    data = cairo_image_surface_get_data(surf);
    w = cairo_image_surface_get_width(surf);
    h = cairo_image_surface_get_height(surf);
    stride = cairo_image_surface_get_stride(surf);
    if (!data || w <= 0 || h <= 0)
        return -EINVAL;
    row = malloc(1 + (size_t)w * 3);
    out = malloc(PNG_OUT_CHUNK);
    if (!row || !out)
        return -ENOMEM;

    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* truecolour */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    r = wr(ctx, sig, sizeof(sig));
    if (r == 0)
        r = chunk(wr, ctx, "IHDR", ihdr, sizeof(ihdr));
    if (r < 0)
        return r;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
        return -ENOMEM;
    zs.next_out = out;
    zs.avail_out = PNG_OUT_CHUNK;
    for (int y = 0; y < h && r == 0; y++) {
        const uint32_t *px = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        unsigned char *q = row + 1;
        unsigned pr = 0, pg = 0, pb = 0;

        row[0] = 1; /* Sub: each byte minus the same channel of the pixel to its left */
        for (int x = 0; x < w; x++) {
            unsigned cr = (px[x] >> 16) & 0xff, cg = (px[x] >> 8) & 0xff, cb = px[x] & 0xff;
            *q++ = (unsigned char)(cr - pr);
            *q++ = (unsigned char)(cg - pg);
            *q++ = (unsigned char)(cb - pb);
            pr = cr;
            pg = cg;
            pb = cb;
        }
        zs.next_in = row;
        zs.avail_in = (uInt)(1 + (size_t)w * 3);
        do {
            zr = deflate(&zs, y + 1 == h ? Z_FINISH : Z_NO_FLUSH);
            if (zr == Z_STREAM_ERROR) {
                r = -EIO;
                break;
            }
            if (zs.avail_out == 0 || zr == Z_STREAM_END) {
                r = chunk(wr, ctx, "IDAT", out, PNG_OUT_CHUNK - zs.avail_out);
                zs.next_out = out;
                zs.avail_out = PNG_OUT_CHUNK;
            }
        } while (r == 0 && (zs.avail_in > 0 || (y + 1 == h && zr != Z_STREAM_END)));
    }
    (void)deflateEnd(&zs);
    if (r == 0)
        r = chunk(wr, ctx, "IEND", NULL, 0);
    return r;
}
