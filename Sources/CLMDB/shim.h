#ifndef HEADROOM_CLMDB_SHIM_H
#define HEADROOM_CLMDB_SHIM_H

// Debian's liblmdb-dev: the real LMDB, linked as a system library.
#include <errno.h>
#include <lmdb.h>

// Why a shim: lmdb.h defines its option flags and return codes as macros of
// `unsigned int`/negative `int` literals that Swift imports with mixed types
// (some as Int32, some as Int). These constants give every flag and code one
// Swift type, so LMDBKit compares and combines them without casts.
static const unsigned int clmdb_NOSUBDIR = MDB_NOSUBDIR;
static const unsigned int clmdb_NOTLS = MDB_NOTLS;
static const unsigned int clmdb_CREATE = MDB_CREATE;
static const unsigned int clmdb_RDONLY = MDB_RDONLY;
static const unsigned int clmdb_NOLOCK = MDB_NOLOCK;
static const unsigned int clmdb_NOOVERWRITE = MDB_NOOVERWRITE;
static const int clmdb_SUCCESS = MDB_SUCCESS;
static const int clmdb_EINVAL = EINVAL;
static const int clmdb_EACCES = EACCES;
static const int clmdb_EIO = EIO;
static const int clmdb_ENOSPC = ENOSPC;
static const int clmdb_NOTFOUND = MDB_NOTFOUND;
static const int clmdb_KEYEXIST = MDB_KEYEXIST;
static const int clmdb_MAP_FULL = MDB_MAP_FULL;
static const int clmdb_READERS_FULL = MDB_READERS_FULL;
static const int clmdb_BAD_TXN = MDB_BAD_TXN;
static const int clmdb_BAD_VALSIZE = MDB_BAD_VALSIZE;
static const int clmdb_BAD_DBI = MDB_BAD_DBI;
static const int clmdb_DBS_FULL = MDB_DBS_FULL;
static const int clmdb_TXN_FULL = MDB_TXN_FULL;
static const int clmdb_MAP_RESIZED = MDB_MAP_RESIZED;
static const int clmdb_INVALID = MDB_INVALID;
static const int clmdb_VERSION_MISMATCH = MDB_VERSION_MISMATCH;
static const int clmdb_CORRUPTED = MDB_CORRUPTED;
static const int clmdb_PANIC = MDB_PANIC;

#endif
