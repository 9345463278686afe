import ElectraKernels
import Foundation

/// The bytes of a checkpoint file, mapped copy-on-write (MAP_PRIVATE, read+write): fp32
/// weights are used in place with no copy, and a later in-place update (training) touches
/// only private pages. Readers can also be handed bytes already in memory (tests, fuzzing).
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    public let base: UnsafeMutableRawPointer
    public let size: Int
    /// False when `base` is our own allocation (in-memory bytes or an empty file).
    private let mapped: Bool

    /// The file's name for messages.
    public var name: String { url.lastPathComponent }

    public init(url: URL) throws {
        self.url = url
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer.
        // It changes nothing for the regular files that pass the check below (nor for mmap).
        let fd = open(url.path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            throw ElectraError("cannot open \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ElectraError("cannot stat \(url.path): \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw ElectraError("\(url.path) is a folder, expected a file")
        }
        // FIFOs, sockets and devices have no fixed size to map (st_size is 0 or meaningless).
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ElectraError("\(url.path) is not a regular file")
        }
        size = Int(st.st_size)
        if size == 0 {
            base = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
            mapped = false
            return
        }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw ElectraError("cannot map \(url.path): \(String(cString: strerror(errno)))")
        }
        base = p
        mapped = true
    }

    /// A 64-byte aligned copy of `bytes`; `url` only names it in messages.
    public init(copying bytes: [UInt8], url: URL) {
        self.url = url
        size = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
        base = p
        mapped = false
    }

    deinit {
        if mapped { munmap(base, size) } else { base.deallocate() }
    }
}

extension MappedFile {
    /// The contiguous tensor at byte `offset` as fp32: a zero-copy view of the file when it is
    /// aligned F32, a widened copy otherwise. The caller has bounds-checked the bytes.
    func floatTensor(_ info: StoredTensorInfo, at offset: Int, name: String) throws -> Tensor {
        let src = base + offset
        let n = info.elementCount
        if info.dtype == .f32, Int(bitPattern: src) % 4 == 0 {
            return Tensor(shape: info.shape, storage: Storage(borrowing: src, byteCount: n * 4, owner: self))
        }
        let t = Tensor(zeros: info.shape)
        guard info.dtype.widen(src, count: n, into: t.pointer) else {
            throw ElectraError("\(self.name): tensor '\(name)' is \(info.dtype.rawValue), expected a floating-point type")
        }
        return t
    }
}
