import ElectraKernels
import Foundation

/// One entry of a safetensors header.
public struct TensorRecord: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range inside the data section.
    public let range: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file: 8-byte little-endian header length, JSON header, raw data.
/// The file is mapped; fp32 tensors come back as views of the mapping, other float types are
/// widened into fresh fp32 storage. Every structural problem is an error naming the file.
public final class SafeTensorsFile: TensorSource, @unchecked Sendable {
    public let url: URL
    public let records: [String: TensorRecord]
    public let metadata: [String: String]
    let file: MappedFile
    let dataStart: Int

    public var names: [String] { records.keys.sorted() }
    public var tensorNames: [String] { names }
    public var formatName: String { "safetensors" }
    public func info(_ name: String) -> StoredTensorInfo? {
        records[name].map { StoredTensorInfo(dtype: $0.dtype, shape: $0.shape) }
    }

    public init(url: URL) throws {
        self.url = url
        let name = url.lastPathComponent
        file = try MappedFile(url: url)
        guard file.size >= 8 else {
            throw ElectraError("\(name): not a safetensors file (only \(file.size) bytes; the 8-byte header length is missing)")
        }
        let headerLen = file.base.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLen <= UInt64(file.size - 8) else {
            throw ElectraError("\(name): header length \(headerLen) runs past the end of the file (\(file.size) bytes); the file is truncated or not safetensors")
        }
        dataStart = 8 + Int(headerLen)
        let headerData = Data(bytes: file.base + 8, count: Int(headerLen))
        guard case .object(let header) = try JSONValue.parse(headerData, source: "\(name) header") else {
            throw ElectraError("\(name): header is not a JSON object")
        }
        let dataSize = file.size - dataStart
        var recs: [String: TensorRecord] = [:]
        var meta: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                for (k, v) in value.objectValue ?? [:] { meta[k] = v.stringValue ?? v.debugText }
                continue
            }
            guard let o = value.objectValue else { throw ElectraError("\(name): entry '\(key)' is not an object") }
            guard let ds = o["dtype"]?.stringValue else { throw ElectraError("\(name): tensor '\(key)' has no dtype") }
            guard let dtype = DType(rawValue: ds) else {
                throw ElectraError("\(name): tensor '\(key)' has unknown dtype \(ds) (supported: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let sa = o["shape"]?.arrayValue, let shape = Optional(sa.compactMap(\.intValue)), shape.count == sa.count,
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw ElectraError("\(name): tensor '\(key)' has an invalid shape")
            }
            guard let oa = o["data_offsets"]?.arrayValue, oa.count == 2, let b = oa[0].intValue, let e = oa[1].intValue else {
                throw ElectraError("\(name): tensor '\(key)' has invalid data_offsets")
            }
            guard b >= 0, e >= b, e <= dataSize else {
                throw ElectraError("\(name): tensor '\(key)' data_offsets [\(b), \(e)] fall outside the data section (\(dataSize) bytes); the file is truncated or corrupt")
            }
            try StoredTensorInfo.requireByteCount(shape, dtype, actual: e - b, file: name, what: "tensor '\(key)'", dtypeName: ds)
            recs[key] = TensorRecord(name: key, dtype: dtype, shape: shape, range: b..<e)
        }
        let sorted = recs.values.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.range.upperBound > b.range.lowerBound {
            throw ElectraError("\(name): tensors '\(a.name)' and '\(b.name)' overlap in the data section")
        }
        records = recs
        metadata = meta
    }

    func record(_ name: String) throws -> TensorRecord {
        guard let r = records[name] else { throw ElectraError("\(url.lastPathComponent): no tensor named '\(name)'") }
        return r
    }

    /// fp32 tensor: a zero-copy view for aligned F32 data, a widened copy otherwise.
    public func floatTensor(_ name: String) throws -> Tensor {
        let r = try record(name)
        return try file.floatTensor(StoredTensorInfo(dtype: r.dtype, shape: r.shape), at: dataStart + r.range.lowerBound, name: name)
    }

    /// The stored bytes of `name`, in place (valid while this file is alive), and its record.
    public func rawData(_ name: String) throws -> (pointer: UnsafeRawPointer, record: TensorRecord) {
        let r = try record(name)
        return (UnsafeRawPointer(file.base + dataStart + r.range.lowerBound), r)
    }

    /// Integer tensor (I64, I32, I16, I8, U8, BOOL) as Ints, with its shape.
    public func intTensor(_ name: String) throws -> IntTensor {
        let r = try record(name)
        let src = file.base + dataStart + r.range.lowerBound
        guard let v = r.dtype.readIntegers(src, count: r.elementCount) else {
            throw ElectraError("\(url.lastPathComponent): tensor '\(name)' is \(r.dtype.rawValue), expected an integer type (I64 or I32)")
        }
        return IntTensor(shape: r.shape, values: v)
    }
}

/// Integer data (ids, masks, labels) with a shape.
public struct IntTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Int]
    public init(shape: [Int], values: [Int]) {
        precondition(shape.reduce(1, *) == values.count)
        self.shape = shape
        self.values = values
    }
}

/// What can be written into a safetensors file.
public enum TensorPayload: Sendable {
    case float(Tensor)
    case half(Tensor)
    case bfloat16(Tensor)
    case int64(IntTensor)
    case int32(IntTensor)
    /// Int32 values as they are (no widening to Int first: large id arrays).
    case int32Values(shape: [Int], values: [Int32])

    var dtype: DType {
        switch self {
        case .float: .f32
        case .half: .f16
        case .bfloat16: .bf16
        case .int64: .i64
        case .int32, .int32Values: .i32
        }
    }
    var shape: [Int] {
        switch self {
        case .float(let t), .half(let t), .bfloat16(let t): t.shape
        case .int64(let t), .int32(let t): t.shape
        case .int32Values(let shape, _): shape
        }
    }
    var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }

    func bytes() -> Data {
        switch self {
        case .float(let t):
            return Data(bytes: t.pointer, count: t.count * 4)
        case .half(let t):
            return t.buffer.map { floatToHalf($0).littleEndian }.withUnsafeBytes { Data($0) }
        case .bfloat16(let t):
            return t.buffer.map { floatToBFloat16($0).littleEndian }.withUnsafeBytes { Data($0) }
        case .int64(let t):
            return t.values.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) }
        case .int32(let t):
            return t.values.map { Int32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { Data($0) }
        case .int32Values(_, let v):
            return v.withUnsafeBytes { Data($0) }  // little-endian hosts only (x86-64, arm64)
        }
    }
}

public enum SafeTensorsWriter {
    /// Writes `tensors` (sorted by name, data 8-byte aligned as the reference writer does)
    /// atomically to `url`.
    public static func write(
        _ tensors: [(String, TensorPayload)], metadata: [String: String] = [:], to url: URL
    ) throws {
        var seen = Set<String>()
        for (n, _) in tensors where !seen.insert(n).inserted {
            throw ElectraError("\(url.lastPathComponent): tensor name '\(n)' given twice")
        }
        let ordered = tensors.sorted { $0.0 < $1.0 }
        var header: [String: JSONValue] = [:]
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues(JSONValue.string)) }
        var offset = 0
        for (name, t) in ordered {
            header[name] = .object([
                "dtype": .string(t.dtype.rawValue),
                "shape": .array(t.shape.map { .number(Double($0)) }),
                "data_offsets": .array([.number(Double(offset)), .number(Double(offset + t.byteCount))]),
            ])
            offset += t.byteCount
        }
        var headerBytes = try JSONValue.object(header).serialized(pretty: false)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        try AtomicFile.write(to: url) { h in
            var len = UInt64(headerBytes.count).littleEndian
            try h.write(contentsOf: Data(bytes: &len, count: 8))
            try h.write(contentsOf: headerBytes)
            for (_, t) in ordered { try h.write(contentsOf: t.bytes()) }
        }
    }
}
