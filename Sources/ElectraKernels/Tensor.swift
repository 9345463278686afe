import Foundation

/// Owns (or borrows) a block of memory that one or more tensors view.
/// A storage can wrap a private heap allocation or a window of a memory-mapped file;
/// `keepAlive` holds whatever must outlive the pointer (e.g. the mapping).
public final class Storage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    private let owned: Bool
    private let keepAlive: AnyObject?

    /// A zero-filled, 64-byte aligned heap allocation.
    public init(byteCount: Int) {
        let n = max(byteCount, 1)
        base = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: n)
        self.byteCount = byteCount
        owned = true
        keepAlive = nil
    }

    /// A view of memory owned by `owner` (for example a mapped file).
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.base = base
        self.byteCount = byteCount
        owned = false
        keepAlive = owner
    }

    deinit { if owned { base.deallocate() } }
}

/// A dense, row-major fp32 tensor. Value semantics for the shape, reference semantics for
/// the data: copies share storage (weights are shared/tied by sharing storage on purpose).
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: Storage
    /// Offset into `storage`, in elements.
    public let offset: Int

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    public init(zeros shape: [Int]) {
        self.shape = shape
        storage = Storage(byteCount: shape.reduce(1, *) * MemoryLayout<Float>.stride)
        offset = 0
    }

    public init(shape: [Int], storage: Storage, offset: Int = 0) {
        precondition((offset + shape.reduce(1, *)) * 4 <= storage.byteCount, "tensor exceeds its storage")
        self.shape = shape
        self.storage = storage
        self.offset = offset
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { src in
            pointer.update(from: src.baseAddress!, count: values.count)
        }
    }

    @inline(__always)
    public var pointer: UnsafeMutablePointer<Float> {
        storage.base.assumingMemoryBound(to: Float.self) + offset
    }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    public var scalars: [Float] { Array(buffer) }

    /// Same data, new shape (element counts must agree).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, storage: storage, offset: offset)
    }

    /// A deep copy with its own storage.
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }
}

public func shapeString(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// Buffers kept from one training step to the next, by slot: no allocation, zero-filling or
/// page faults per step (the generator's [masked, vocab] logits are 75 MB for a small B32
/// batch). Contents are left as the last step wrote them; each user overwrites what it reads.
/// Grows with a margin, since the number of masked positions varies per batch.
public final class ScratchTensors: @unchecked Sendable {
    private var slots: [Storage?] = []
    public init() {}

    public func tensor(_ slot: Int, _ shape: [Int]) -> Tensor {
        let need = shape.reduce(1, *) * MemoryLayout<Float>.stride
        while slots.count <= slot { slots.append(nil) }
        if let s = slots[slot], s.byteCount >= need { return Tensor(shape: shape, storage: s) }
        let s = Storage(byteCount: need + need / 4)
        slots[slot] = s
        return Tensor(shape: shape, storage: s)
    }
}
