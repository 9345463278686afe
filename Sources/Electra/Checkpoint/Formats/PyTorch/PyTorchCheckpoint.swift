import ElectraKernels
import Foundation

/// `pytorch_model.bin` as torch.save (torch >= 1.6) writes it: a zip archive holding
/// `<archive>/data.pkl`, the pickled state dict, and one stored member `<archive>/data/<key>`
/// per storage. The pickle is read by a restricted unpickler that runs nothing (see
/// `Unpickler`); tensors are strided views of the storages, so tied weights share one storage
/// and views may start at an offset or be transposed. Aligned contiguous fp32 tensors come
/// back as views of the mapped file; everything else is gathered and widened to fp32.
public final class PyTorchCheckpointFile: TensorSource {
    /// One tensor: a strided view (in elements) of a storage member.
    struct Record: Sendable {
        let info: StoredTensorInfo
        let storageKey: String
        /// The storage member's bytes in the file.
        let storageBytes: Range<Int>
        let offset: Int
        let strides: [Int]
        let isContiguous: Bool
    }

    public let url: URL
    public var formatName: String { "pytorch" }
    /// The bytes the records point into: the mapped file, or a copy held in memory.
    let backing: MappedFile
    let records: [String: Record]

    public var tensorNames: [String] { records.keys.sorted() }
    public func info(_ name: String) -> StoredTensorInfo? { records[name]?.info }

    public convenience init(url: URL) throws {
        try self.init(backing: MappedFile(url: url), url: url)
    }

    /// Reads a checkpoint already in memory (tests, fuzzing): no file is touched; `url` only
    /// names it in messages.
    convenience init(bytes: [UInt8], url: URL) throws {
        try self.init(backing: MappedFile(copying: bytes, url: url), url: url)
    }

    init(backing: MappedFile, url: URL) throws {
        let name = url.lastPathComponent
        let base = backing.base, size = backing.size
        try Self.refuseLegacyFormat(UnsafeRawBufferPointer(start: base, count: size), name: name)
        let archive = try ZipArchive(base: base, size: size, source: name)
        let folder = try Self.archiveFolder(archive, name: name)
        if archive.entries["\(folder)/byteorder"] != nil {
            let r = try archive.storedData("\(folder)/byteorder")
            let order = String(decoding: UnsafeRawBufferPointer(start: base + r.lowerBound, count: min(r.count, 16)), as: UTF8.self)
            guard order == "little" else {
                throw ElectraError("\(name): the checkpoint was saved with byte order '\(order)'; only little-endian ('little') checkpoints are supported")
            }
        }
        let pickle = try archive.storedData("\(folder)/data.pkl")
        let tensors = try Unpickler.load(base, range: pickle, file: name, member: "data.pkl") { root in
            try Self.stateDictTensors(root, name: name)
        }
        var records: [String: Record] = [:]
        for (key, t) in tensors {
            records[key] = try Self.record(key, t, archive: archive, folder: folder, name: name)
        }
        self.url = url
        self.backing = backing
        self.records = records
    }

    // MARK: reading

    public func floatTensor(_ name: String) throws -> Tensor {
        let file = url.lastPathComponent
        guard let r = records[name] else { throw ElectraError("\(file): no tensor named '\(name)'") }
        let dtype = r.info.dtype, shape = r.info.shape
        guard dtype.isFloatingPoint else {
            throw ElectraError("\(file): tensor '\(name)' is \(dtype.rawValue), expected a floating-point type")
        }
        let es = dtype.byteSize
        // Records with no elements are contiguous, so the gather below always has some.
        if r.isContiguous {
            return try backing.floatTensor(r.info, at: r.storageBytes.lowerBound + r.offset * es, name: name)
        }
        let storage = backing.base + r.storageBytes.lowerBound
        let t = Tensor(zeros: shape)
        Self.gather(dtype, from: storage, offset: r.offset, shape: shape, strides: r.strides, into: t.pointer)
        return t
    }

    /// Copies a strided view row by row (the last dimension), widening as it goes; an
    /// odometer over the leading dimensions tracks the source offset.
    static func gather(
        _ dtype: DType, from storage: UnsafeRawPointer, offset: Int, shape: [Int], strides: [Int],
        into dst: UnsafeMutablePointer<Float>
    ) {
        let es = dtype.byteSize
        let rank = shape.count
        let inner = shape[rank - 1], innerStride = strides[rank - 1]
        let rows = shape.reduce(1, *) / inner
        var index = [Int](repeating: 0, count: rank - 1)
        var src = offset
        var out = dst
        for _ in 0..<rows {
            if innerStride == 1 {
                _ = dtype.widen(storage + src * es, count: inner, into: out)
            } else {
                for j in 0..<inner { _ = dtype.widen(storage + (src + j * innerStride) * es, count: 1, into: out + j) }
            }
            out += inner
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                src += strides[d]
                if index[d] < shape[d] { break }
                src -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    // MARK: parsing

    /// torch.save before 1.6 wrote a bare pickle stream (or, much earlier, a tar file).
    static func refuseLegacyFormat(_ b: UnsafeRawBufferPointer, name: String) throws {
        if b.count >= 2, b[0] == 0x50, b[1] == 0x4B { return }  // "PK": a zip
        let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        let advice = "re-save with torch>=1.6 (torch.save(torch.load(path), path)) or convert the checkpoint to safetensors"
        if b.starts(with: legacyMagic) || (b.count > 262 && Array(b[257..<262]) == Array("ustar".utf8)) {
            throw ElectraError("\(name): this is the legacy torch.save format (PyTorch < 1.6, not a zip archive), which is not supported; \(advice)")
        }
        if b.count >= 2, b[0] == 0x80, b[1] <= 5 {
            throw ElectraError("\(name): this is a bare pickle, not a torch.save zip archive (legacy format?); \(advice)")
        }
    }

    /// The archive's top folder: torch names it after the file ("pytorch_model", "archive").
    static func archiveFolder(_ archive: ZipArchive, name: String) throws -> String {
        let folders = archive.names.compactMap { n -> String? in
            guard n.hasSuffix("/data.pkl") else { return nil }
            let folder = String(n.dropLast("/data.pkl".count))
            return folder.contains("/") ? nil : folder
        }
        guard folders.count == 1, let folder = folders.first else {
            throw ElectraError(folders.isEmpty
                ? "\(name): the zip archive has no '<folder>/data.pkl'; not a torch.save checkpoint"
                : "\(name): the zip archive holds several pickles (\(folders.prefix(4).map { "\($0)/data.pkl" }.joined(separator: ", "))); expected one torch.save checkpoint")
        }
        if archive.entries["\(folder)/constants.pkl"] != nil || archive.names.contains(where: { $0.hasPrefix("\(folder)/code/") }) {
            throw ElectraError("\(name): this is a TorchScript archive (torch.jit.save), not a state dict; save model.state_dict() with torch.save instead")
        }
        return folder
    }

    /// The tensors of the top-level dict, by key; other values (ints, strings) carry no weights.
    static func stateDictTensors(_ root: PickleValue, name: String) throws -> [(String, PickledTensor)] {
        guard case .dict(let d) = root else {
            throw ElectraError("\(name): the pickled object is \(root.kind), not a state dict (a dict of tensors); save model.state_dict()")
        }
        var tensors: [(String, PickledTensor)] = []
        var nested: [String] = []
        for (k, v) in d.entries {
            switch v {
            case .tensor(let t):
                guard case .string(let key) = k else {
                    throw ElectraError("\(name): a tensor in the state dict is keyed by \(k.kind), not a name")
                }
                tensors.append((key, t))
            case .dict, .list, .tuple:
                if case .string(let key) = k { nested.append(key) }
            default:
                continue
            }
        }
        if tensors.isEmpty, !nested.isEmpty {
            throw ElectraError("\(name): the top-level dict holds no tensors, only nested containers (\(nested.prefix(5).map { "'\($0)'" }.joined(separator: ", "))); this looks like a training checkpoint — save the model's state_dict() on its own")
        }
        return tensors
    }

    /// Checks that the view fits its storage and the storage fits its member.
    static func record(
        _ key: String, _ t: PickledTensor, archive: ZipArchive, folder: String, name: String
    ) throws -> Record {
        let s = t.storage
        // A size-1 dimension never moves, whatever its stride; zeroing those strides keeps the
        // gather's offset arithmetic within the storage.
        let strides = zip(t.shape, t.strides).map { d, st in d == 1 ? 0 : st }
        let member = "\(folder)/data/\(s.key)"
        guard archive.entries[member] != nil else {
            throw ElectraError("\(name): tensor '\(key)' uses storage '\(s.key)', but the archive has no member '\(member)'")
        }
        let bytes = try archive.storedData(member)
        let (needed, o1) = s.numel.multipliedReportingOverflow(by: s.dtype.byteSize)
        guard !o1, needed <= bytes.count else {
            throw ElectraError("\(name): tensor '\(key)' uses storage '\(s.key)' of \(s.numel) \(s.dtype.rawValue) elements, but '\(member)' holds only \(bytes.count) bytes; the file is truncated or corrupt")
        }
        let view = "tensor '\(key)' (shape \(shapeString(t.shape)), stride \(shapeString(t.strides)), offset \(t.offset))"
        guard t.offset >= 0, t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }) else {
            throw ElectraError("\(name): \(view) has a negative size, stride or offset")
        }
        guard let count = StoredTensorInfo.checkedElementCount(t.shape) else {
            throw ElectraError("\(name): \(view) has an impossibly large shape")
        }
        // Bounds the fp32 copy by the file's size: views that repeat elements (stride 0 over a
        // larger shape) would otherwise let a tiny file ask for terabytes.
        guard count <= s.numel else {
            throw ElectraError("\(name): \(view) has \(count) elements but its storage '\(s.key)' holds only \(s.numel); views that repeat elements are not supported")
        }
        if count > 0 {
            var last = t.offset
            for (d, st) in zip(t.shape, t.strides) {
                let (step, o1) = (d - 1).multipliedReportingOverflow(by: st)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw ElectraError("\(name): \(view) reaches past any storage") }
                last = sum
            }
            guard last < s.numel else {
                throw ElectraError("\(name): \(view) reaches element \(last) of its storage '\(s.key)', which holds only \(s.numel) elements")
            }
        }
        // torch's rule: sizes of 1 may have any stride.
        var expected = 1, contiguous = true
        for (d, st) in zip(t.shape, strides).reversed() where d != 1 {
            if st != expected { contiguous = false }
            expected *= d
        }
        return Record(
            info: StoredTensorInfo(dtype: s.dtype, shape: t.shape), storageKey: s.key, storageBytes: bytes,
            offset: t.offset, strides: strides, isContiguous: contiguous || count == 0)
    }
}
