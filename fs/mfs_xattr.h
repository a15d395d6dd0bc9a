/* mfs_xattr.h -- the extended attributes memofs shows.
 *
 *   on a function's directory:
 *     user.memofs.description   what the function does
 *   on a result (provenance; reading them never computes):
 *     user.memofs.state         absent, queued, computing or cached
 *     user.memofs.key           the cache key, 32 hex digits
 *     user.memofs.compute_seconds   how long it took ("0.002013"), cached
 *     user.memofs.created       when it was computed, cached: ISO 8601
 *                               UTC with nanoseconds
 *                               ("2026-11-29T19:30:00.123456789Z")
 * An attribute a result does not have yet is ENODATA.
 */
#ifndef MEMOFS_MFS_XATTR_H
#define MEMOFS_MFS_XATTR_H

#include "mfs.h"

void mfs_xattr_get(fuse_req_t req, struct mfs *fs, struct mfs_node *n,
		   const char *name, size_t size);
void mfs_xattr_list(fuse_req_t req, struct mfs *fs, struct mfs_node *n,
		    size_t size);

#endif
