/* SPDX-License-Identifier: MIT */
/* W2W_EXPORT marks the symbols of the public API (everything else in
 * libw2wesher is hidden: -fvisibility=hidden and lib/core/libw2wesher.map). */
#ifndef W2WESHER_EXPORT_H
#define W2WESHER_EXPORT_H

#if defined(__GNUC__)
#define W2W_EXPORT __attribute__((visibility("default")))
#else
#define W2W_EXPORT
#endif

#endif
