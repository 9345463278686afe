import ElectraKernels
import Foundation

/// Element type and shape of one stored tensor, before any widening or renaming.
public struct StoredTensorInfo: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    public init(dtype: DType, shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A checkpoint file of any format seen as named tensors: the seam every reader fills
/// (safetensors, PyTorch zip/pickle, Flax msgpack, TF2 HDF5, TF1 TensorBundle). Readers only
/// parse data; nothing a file contains is ever executed.
public protocol TensorSource: AnyObject, Sendable {
    /// The file named in messages.
    var url: URL { get }
    /// Short format name shown by `electra info` ("safetensors", "pytorch", ...).
    var formatName: String { get }
    /// Every tensor name as stored, sorted.
    var tensorNames: [String] { get }
    func info(_ name: String) -> StoredTensorInfo?
    /// The tensor widened to fp32 (a view of the file where the format allows).
    func floatTensor(_ name: String) throws -> Tensor
}

extension DType {
    /// Widens `count` elements at `src` (little-endian, unaligned allowed) to fp32.
    /// Returns false for integer types.
    public func widen(_ src: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>) -> Bool {
        switch self {
        case .f32: for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16: for i in 0..<n { dst[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16: for i in 0..<n { dst[i] = bfloat16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .f64: for i in 0..<n { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        default: return false
        }
        return true
    }
}

extension DType {
    /// Reads `count` little-endian integers (or bools) at `src` as Ints; nil for float types.
    public func readIntegers(_ src: UnsafeRawPointer, count n: Int) -> [Int]? {
        switch self {
        case .i64: (0..<n).map { Int(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
        case .i32: (0..<n).map { Int(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        case .i16: (0..<n).map { Int(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
        case .i8: (0..<n).map { Int(src.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8, .bool: (0..<n).map { Int(src.load(fromByteOffset: $0, as: UInt8.self)) }
        case .f64, .f32, .f16, .bf16: nil
        }
    }
}

/// A source seen under other names, with 2-D tensors optionally transposed: how Flax, Keras
/// and TF1 layouts (kernel [in, out]) become HF names and PyTorch layouts ([out, in]).
public final class RenamedTensorSource: TensorSource {
    public struct Entry: Sendable {
        public let stored: String
        public let transpose: Bool
        public init(stored: String, transpose: Bool) {
            self.stored = stored
            self.transpose = transpose
        }
    }
    public let inner: any TensorSource
    public let entries: [String: Entry]
    public var formatName: String { inner.formatName }
    public var url: URL { inner.url }
    public var tensorNames: [String] { entries.keys.sorted() }

    public init(_ inner: any TensorSource, entries: [String: Entry]) {
        self.inner = inner
        self.entries = entries
    }

    public func info(_ name: String) -> StoredTensorInfo? {
        guard let e = entries[name], let i = inner.info(e.stored) else { return nil }
        return StoredTensorInfo(dtype: i.dtype, shape: e.transpose ? i.shape.reversed() : i.shape)
    }

    public func floatTensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw ElectraError("\(url.lastPathComponent): no tensor named '\(name)'") }
        let t = try inner.floatTensor(e.stored)
        guard e.transpose else { return t }
        guard t.shape.count == 2 else {
            throw ElectraError("\(url.lastPathComponent): '\(e.stored)' should be a 2-D kernel but has shape \(shapeString(t.shape))")
        }
        let (r, c) = (t.shape[0], t.shape[1])
        let out = Tensor(zeros: [c, r])
        // `t` may own a fresh widened copy: keep it alive while its pointer is read.
        withExtendedLifetime(t) { transpose(t.pointer, rows: r, columns: c, into: out.pointer) }
        return out
    }
}

extension StoredTensorInfo {
    /// Element count of a shape read from a file, or nil when it cannot be real: a negative
    /// dimension, or a product (of the non-zero dimensions, so later code may multiply them in
    /// any order) that overflows.
    public static func checkedElementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            if d == 0 { continue }
            let (m, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = m
        }
        return shape.contains(0) ? 0 : n
    }

    /// Throws unless `actual` bytes are exactly what `shape` of `dtype` needs; `what` names
    /// the tensor (and `dtypeName` its type as the file spells it) in the message.
    public static func requireByteCount(
        _ shape: [Int], _ dtype: DType, actual: Int, file: String, what: String, dtypeName: String
    ) throws {
        let needed = checkedByteCount(shape, dtype)
        guard needed != actual else { return }
        throw ElectraError("\(file): \(what) holds \(actual) bytes but shape \(shapeString(shape)) of \(dtypeName) needs \(needed.map(String.init) ?? "more than fits in memory")")
    }

    /// Bytes a shape of `dtype` needs, or nil as above.
    public static func checkedByteCount(_ shape: [Int], _ dtype: DType) -> Int? {
        guard let n = checkedElementCount(shape) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }
}
