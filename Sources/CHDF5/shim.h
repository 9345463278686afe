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

// 1 for a hard link, 0 for soft/external/user links (never followed: an external link
// would make the library open whatever path the file names), -1 on error. H5L_info_t and
// H5Lget_info_by_idx resolve to the same API version, so this compiles on 1.10 and 1.12+.
static inline int electra_h5_is_hard_link(hid_t group, hsize_t index) {
    H5L_info_t info;
    if (H5Lget_info_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &info, H5P_DEFAULT) < 0) return -1;
    return info.type == H5L_TYPE_HARD ? 1 : 0;
}

// Number of filters (compression and the like) on a dataset's storage, or -1.
static inline int electra_h5_filter_count(hid_t dataset) {
    hid_t plist = H5Dget_create_plist(dataset);
    if (plist < 0) return -1;
    int n = H5Pget_nfilters(plist);
    H5Pclose(plist);
    return n;
}
