/* stream.h -- reading a regular file in chunks with pread(2) on two
 * threads, hashing its bytes in file order as they arrive.
 *
 * Used by ds.c to load a dataset at mount: a .npy whose chunks npy.c
 * converts straight into the columns, and the whole-file buffer a CSV is
 * parsed from.  Each thread claims the next chunk, reads it (into where the
 * job says, or into a buffer of its own), hands it to the job's consumer,
 * then waits for its turn to feed it to the one XXH3 state, so that the
 * digest is exactly XXH3-128 of the bytes in file order while a chunk is
 * hashed right after it was consumed, still in the cache.  Never mmap: a
 * file truncated while mapped faults; a pread that ends early is an error.
 */
#ifndef MEMOFS_DATA_STREAM_H
#define MEMOFS_DATA_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

#define STREAM_THREADS_MAX 2	/* the threads a read uses, the caller's
				 * included */

/* What to read and what to do with each chunk.  Chunk k holds the bytes
 * [start + k * chunk, min(start + (k + 1) * chunk, end)). */
struct stream_job {
	int fd;			/* a regular file, read with pread(2) */
	uint64_t start;		/* the first byte read */
	uint64_t end;		/* one past the last: the file's size */
	size_t chunk;		/* bytes a chunk, > 0 */
	unsigned threads;	/* 1 or 2 (STREAM_THREADS_MAX) */
	/* Where chunk [off, off + len) is read to (len bytes that stay
	 * valid), or NULL for a buffer of the reading thread's; dest NULL:
	 * always such a buffer.  Called on any of the threads. */
	unsigned char *(*dest)(void *ctx, uint64_t off, size_t len);
	/* Takes the chunk's bytes p[0..len) read from off, on thread tid
	 * (0 is the caller's, 1 the other), chunks in no particular order
	 * and concurrently; must not write p.  0, or a negative errno that
	 * stops the read.  NULL: nothing to do. */
	int (*consume)(void *ctx, unsigned tid, uint64_t off,
		       const unsigned char *p, size_t len);
	void *ctx;
	XXH3_state_t *hash;	/* fed bytes [start, end) in order (the caller
				 * fed [0, start)); NULL: no hashing */
};

/* Why a read stopped. */
struct stream_fail {
	uint64_t off;		/* the offset of the chunk that failed */
	int ended;		/* the file ended before end (it shrank) */
};

/* Reads [j->start, j->end) as j says.  Returns 0, or the first failure in
 * file order: -EIO with f->ended when the file ends early, pread's -errno
 * (EINTR is retried; e.g. -EISDIR for a directory), the consumer's error,
 * or -ENOMEM (a chunk buffer); f->off says where.  A second thread that
 * cannot be started leaves the read to the caller's alone.  On failure the
 * hash state holds some prefix of the bytes. */
int stream_read(const struct stream_job *j, struct stream_fail *f);

#endif
