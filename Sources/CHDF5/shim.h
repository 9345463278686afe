// The HDF5 C API through pkg-config `hdf5` (Debian: libhdf5-dev). Several of its constants
// are macros Swift cannot import (casts, or globals that need H5open first); these inline
// functions hand them over.
#include <hdf5.h>

static inline hid_t electra_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t electra_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t electra_h5s_all(void) { return H5S_ALL; }
static inline unsigned electra_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t electra_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t electra_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
// Silences HDF5's own error stack printing: errors come back as return codes and are
// reported by the caller with the file and dataset named.
static inline void electra_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
