import CHDF5
import Electra
import ElectraKernels
import Foundation
import Synchronization

/// The HDF5 C library is built without thread safety on Debian: every call goes through
/// this lock.
let hdf5Lock = Mutex<Void>(())

/// Every floating-point dataset of an HDF5 file, read into fp32 when the file is opened
/// (HDF5 converts F16/F64 itself) and named by its full path without the leading "/".
/// The file is closed again before `init` returns, so nothing touches HDF5 later.
public final class HDF5File: TensorSource {
    public let url: URL
    public var formatName: String { "tf2-h5" }
    let tensors: [String: (info: StoredTensorInfo, data: Tensor)]
    /// Datasets that are not floating point (e.g. an optimizer's iteration count): skipped.
    public let skipped: [String]

    static let maxDepth = 32
    static let maxObjects = 200_000
    static let maxLinkName = 1024

    public init(url: URL) throws {
        self.url = url
        let name = url.lastPathComponent
        guard FileManager.default.fileExists(atPath: url.path) else { throw ElectraError("no such file: \(url.path)") }
        var found: [String: (info: StoredTensorInfo, data: Tensor)] = [:]
        var skipped: [String] = []
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        try hdf5Lock.withLock { _ in
            electra_h5_quiet()
            // A filter id in a file must not make the library load plugin code.
            H5PLset_loading_state(0)
            let file = H5Fopen(url.path, electra_h5f_acc_rdonly(), electra_h5p_default())
            guard file >= 0 else {
                throw ElectraError("\(name): not a readable HDF5 file (truncated, corrupt or another format)")
            }
            defer { H5Fclose(file) }
            var visited = 0
            // Everything read must be stored in the file (datasets are unfiltered and fully
            // allocated, checked in `read`): a budget of the file's size bounds repeated reads
            // through hard-link cycles too.
            var budget = 2 * fileSize  // F16 data doubles when widened
            try Self.walk(file, path: "", depth: 0, visited: &visited, name: name) { path, dataset in
                if let t = try Self.read(dataset, path: path, name: name, budget: &budget) { found[path] = t } else { skipped.append(path) }
            }
        }
        tensors = found
        self.skipped = skipped.sorted()
    }

    /// Depth-first over the links of a group, calling `visit` for each dataset.
    static func walk(
        _ group: hid_t, path: String, depth: Int, visited: inout Int, name: String,
        visit: (String, hid_t) throws -> Void
    ) throws {
        guard depth < maxDepth else { throw ElectraError("\(name): groups nested deeper than \(maxDepth) levels under '\(path)'") }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw ElectraError("\(name): cannot list group '/\(path)' (corrupt file?)") }
        for i in 0..<info.nlinks {
            visited += 1
            guard visited <= maxObjects else { throw ElectraError("\(name): more than \(maxObjects) objects; refusing") }
            switch electra_h5_is_hard_link(group, i) {
            case 1: break
            case 0: continue  // soft and external links are not followed
            default: throw ElectraError("\(name): cannot read link \(i) of '/\(path)' (corrupt file?)")
            }
            let len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, electra_h5p_default())
            guard len > 0, len <= maxLinkName else { throw ElectraError("\(name): a link name in '/\(path)' is empty, unreadable or longer than \(maxLinkName) bytes") }
            var buf = [CChar](repeating: 0, count: Int(len) + 1)
            _ = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(len) + 1, electra_h5p_default())
            let child = String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let childPath = path.isEmpty ? child : path + "/" + child
            let obj = H5Oopen(group, child, electra_h5p_default())
            guard obj >= 0 else { throw ElectraError("\(name): cannot open '/\(childPath)' (broken link or corrupt file)") }
            defer { H5Oclose(obj) }
            switch H5Iget_type(obj) {
            case H5I_GROUP: try walk(obj, path: childPath, depth: depth + 1, visited: &visited, name: name, visit: visit)
            case H5I_DATASET: try visit(childPath, obj)
            default: break  // named datatypes and the like carry no weights
            }
        }
    }

    /// A float dataset as fp32, or nil for other element types.
    static func read(_ ds: hid_t, path: String, name: String, budget: inout Int) throws -> (info: StoredTensorInfo, data: Tensor)? {
        let type = H5Dget_type(ds)
        guard type >= 0 else { throw ElectraError("\(name): cannot read the type of '\(path)'") }
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_FLOAT else { return nil }
        let dtype: DType
        switch H5Tget_size(type) {
        case 2: dtype = .f16
        case 4: dtype = .f32
        case 8: dtype = .f64
        case let n: throw ElectraError("\(name): dataset '\(path)' has \(n)-byte floats; expected 2, 4 or 8")
        }
        let space = H5Dget_space(ds)
        guard space >= 0 else { throw ElectraError("\(name): cannot read the shape of '\(path)'") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 8 else { throw ElectraError("\(name): dataset '\(path)' has an invalid rank \(rank)") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) == rank else {
            throw ElectraError("\(name): cannot read the shape of '\(path)'")
        }
        guard let shape = Optional(dims.compactMap { Int(exactly: $0) }), shape.count == dims.count,
              let bytes = StoredTensorInfo.checkedByteCount(shape, dtype) else {
            throw ElectraError("\(name): dataset '\(path)' has an impossibly large shape \(dims)")
        }
        guard electra_h5_filter_count(ds) == 0 else {
            throw ElectraError("\(name): dataset '\(path)' is compressed or filtered; only plain datasets (as Keras writes them) are supported")
        }
        guard Int(exactly: H5Dget_storage_size(ds)) ?? 0 >= bytes else {
            throw ElectraError("\(name): dataset '\(path)' needs \(bytes) bytes but the file stores fewer (truncated or never written)")
        }
        let floats = bytes / dtype.byteSize * 4
        guard floats <= budget else { throw ElectraError("\(name): datasets add up to more data than the file holds (links read the same data again?); refusing") }
        budget -= floats
        let t = Tensor(zeros: shape)
        if bytes > 0 {
            guard H5Dread(ds, electra_h5t_native_float(), electra_h5s_all(), electra_h5s_all(), electra_h5p_default(), t.pointer) >= 0 else {
                throw ElectraError("\(name): cannot read the data of '\(path)' (truncated or corrupt file)")
            }
        }
        return (StoredTensorInfo(dtype: dtype, shape: shape), t)
    }

    public var tensorNames: [String] { tensors.keys.sorted() }
    public func info(_ name: String) -> StoredTensorInfo? { tensors[name]?.info }
    public func floatTensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw ElectraError("\(url.lastPathComponent): no dataset named '\(name)'") }
        return t.data
    }
}
