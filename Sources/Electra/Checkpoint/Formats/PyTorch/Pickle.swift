import Foundation

/// The only globals a torch.save state dict needs. A pickle naming anything else is refused
/// when the name is read; and even these are never looked up or run: the unpickler builds
/// plain values that describe what they would have made.
struct PickleGlobal: Equatable {
    enum Role: Equatable {
        case orderedDict
        case rebuildTensor                     // (storage, offset, size, stride, requires_grad, hooks[, metadata])
        case rebuildParameter(withState: Bool) // (tensor, requires_grad, hooks[, state])
        case storageType(DType)                // only as the class inside a persistent id
    }
    let name: String
    let role: Role

    static let allowed: [String: PickleGlobal] = {
        var table: [(String, Role)] = [
            ("collections.OrderedDict", .orderedDict),
            ("torch._utils._rebuild_tensor_v2", .rebuildTensor),
            ("torch._utils._rebuild_parameter", .rebuildParameter(withState: false)),
            ("torch._utils._rebuild_parameter_with_state", .rebuildParameter(withState: true)),
        ]
        for (name, dtype) in storageTypes { table.append(("torch.\(name)", .storageType(dtype))) }
        return Dictionary(uniqueKeysWithValues: table.map { ($0.0, PickleGlobal(name: $0.0, role: $0.1)) })
    }()

    /// torch's legacy typed-storage classes, which persistent ids still name in torch 2.x.
    static let storageTypes: [(String, DType)] = [
        ("FloatStorage", .f32), ("HalfStorage", .f16), ("BFloat16Storage", .bf16), ("DoubleStorage", .f64),
        ("LongStorage", .i64), ("IntStorage", .i32), ("ShortStorage", .i16), ("CharStorage", .i8),
        ("ByteStorage", .u8), ("BoolStorage", .bool),
    ]
}

/// A storage as a persistent id names it: ('storage', torch.FloatStorage, key, location, numel).
struct PickledStorage: Sendable, Equatable {
    let key: String
    let dtype: DType
    /// Elements (not bytes) in the storage.
    let numel: Int
}

/// What `_rebuild_tensor_v2` would have built: a strided view of a storage (all in elements).
struct PickledTensor: Sendable, Equatable {
    let storage: PickledStorage
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// A list or tuple. Containers are classes because pickles mutate them after memoizing them.
final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
}

/// A dict as its entries in insertion order (keys may be any value; nothing is hashed).
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
}

enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An int wider than 64 bits: kept so the pickle can go on, useless as a size.
    case bigInt
    case float(Double)
    case string(String)
    /// Byte strings are never needed by a state dict; only the length is kept.
    case bytes(count: Int)
    case tuple(PickleList)
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickledStorage)
    case tensor(PickledTensor)

    /// For messages; never recursive, so a self-referencing container cannot loop.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .bigInt: "an int"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let g): "'\(g.name)'"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

/// A restricted unpickler for the opcodes of pickle protocols 2-5 that torch.save uses for
/// state dicts. It runs nothing: globals outside `PickleGlobal.allowed` are refused, REDUCE
/// only "calls" the allowed callables by building values, and the opcodes that import or
/// instantiate arbitrary classes (INST, OBJ, EXT*, NEWOBJ_EX, ...) are refused. Every read is
/// bounds-checked, and objects (~64 bytes each) are counted against a budget that grows with
/// the pickle's size; copies out of shared containers (a memoized shape tuple fetched again by
/// BINGET for every tensor) count too, and shapes are capped at `maxRank`. So hostile input
/// ends in an error with memory bounded by its size, and the work of each opcode is bounded
/// by the bytes it reads or the objects it is charged for.
struct Unpickler {
    /// A state dict makes about 30 objects per tensor; this allows ~250k tensors.
    static let maxObjects = 1 << 23
    /// More dimensions than any real tensor has.
    static let maxRank = 64

    /// The object budget for a pickle of `size` bytes. torch.save writes a few hundred bytes
    /// of pickle per tensor for its ~30 objects (well under one per byte), while most opcodes
    /// can make one or two objects per byte; so a small file gets a small budget (~64 bytes
    /// of memory per pickle byte, plus a few MB) instead of the full 8M objects (~0.5 GB).
    static func objectBudget(forPickleOf size: Int) -> Int {
        min(maxObjects, size + (1 << 16))
    }

    let base: UnsafeRawPointer
    let end: Int
    /// Names the checkpoint file and the member in messages ("model.bin", "data.pkl").
    let file: String
    let member: String
    var pos: Int
    var opcodeStart = 0
    var stack: [PickleValue] = []
    /// Stack heights at each MARK.
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var budget = Unpickler.maxObjects
    /// Every container made, so `breakReferences` can empty them all: that frees cycles
    /// (a list appended to itself) and deep nesting without recursing in deinit.
    var lists: [PickleList] = []
    var dicts: [PickleDict] = []

    /// Unpickles `range` of `base` and hands the result to `interpret`, which must copy out
    /// what it needs: the containers are emptied when it returns.
    static func load<T>(
        _ base: UnsafeRawPointer, range: Range<Int>, file: String, member: String,
        maxObjects: Int? = nil, _ interpret: (PickleValue) throws -> T
    ) throws -> T {
        var u = Unpickler(base: base, end: range.upperBound, file: file, member: member, pos: range.lowerBound)
        u.budget = maxObjects ?? objectBudget(forPickleOf: range.count)
        defer { u.breakReferences() }
        return try interpret(try u.run())
    }

    mutating func breakReferences() {
        for l in lists { l.items = [] }
        for d in dicts { d.entries = [] }
        stack = []
        memo = [:]
    }

    // MARK: errors and raw reads

    func fail(_ what: String) -> ElectraError {
        ElectraError("\(file): \(member) is corrupt at byte \(opcodeStart): \(what)")
    }

    /// Refusals share one wording so the reason is plain to whoever loads a hostile file.
    func refuse(_ what: String) -> ElectraError {
        ElectraError("\(file): \(member) \(what); refusing to load (nothing was executed)")
    }

    mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, n <= end - pos else {
            throw ElectraError("\(file): \(member) ends in the middle of the opcode at byte \(opcodeStart) (needs \(n) more bytes, \(end - pos) left); the pickle is truncated")
        }
        defer { pos += n }
        return pos
    }

    mutating func u8() throws -> Int { Int(base.load(fromByteOffset: try take(1), as: UInt8.self)) }

    /// An unsigned little-endian field of `n` bytes (n <= 8), kept within Int.
    mutating func unsigned(_ n: Int) throws -> Int {
        let v = littleEndian(at: try take(n), n)
        guard v <= UInt64(Int.max) else { throw fail("a length of \(v) bytes") }
        return Int(v)
    }

    /// The `n <= 8` bytes at `at`, little-endian.
    func littleEndian(at: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<n).reversed() { v = v << 8 | UInt64(base.load(fromByteOffset: at + i, as: UInt8.self)) }
        return v
    }

    mutating func text(_ n: Int) throws -> String {
        let at = try take(n)
        guard let s = String(validating: UnsafeRawBufferPointer(start: base + at, count: n), as: UTF8.self) else {
            throw fail("a string is not valid UTF-8")
        }
        return s
    }

    /// A newline-terminated line (the GLOBAL opcode's operands).
    mutating func line() throws -> String {
        var n = 0
        while pos + n < end, base.load(fromByteOffset: pos + n, as: UInt8.self) != 0x0A { n += 1 }
        let s = try text(n)
        _ = try take(1)
        return s
    }

    // MARK: the stack

    mutating func spend() throws {
        budget -= 1
        guard budget >= 0 else { throw fail("too many objects, far more than a state dict needs") }
    }

    mutating func push(_ v: PickleValue) throws {
        try spend()
        stack.append(v)
    }

    /// Pops one value; values below the innermost MARK belong to an enclosing frame.
    mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return stack.removeLast()
    }

    mutating func top() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw fail("stack underflow") }
        return v
    }

    /// The values above the innermost MARK, removing them and the mark.
    mutating func popToMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("an opcode needs a MARK but there is none") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }

    mutating func newList(_ items: [PickleValue]) throws -> PickleList {
        try spend()
        let l = PickleList(items)
        lists.append(l)
        return l
    }

    mutating func newDict(_ items: [PickleValue] = []) throws -> PickleDict {
        try spend()
        let d = PickleDict()
        dicts.append(d)
        try setItems(d, items)
        return d
    }

    func setItems(_ d: PickleDict, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw fail("dict items come in an odd number (\(items.count))") }
        for i in stride(from: 0, to: items.count, by: 2) { d.entries.append((items[i], items[i + 1])) }
    }

    mutating func topDict(_ op: String) throws -> PickleDict {
        let t = try top()
        guard case .dict(let d) = t else { throw fail("\(op) on \(t.kind), expected a dict") }
        return d
    }

    mutating func topList(_ op: String) throws -> PickleList {
        let t = try top()
        guard case .list(let l) = t else { throw fail("\(op) on \(t.kind), expected a list") }
        return l
    }

    mutating func memoize(_ index: Int) throws {
        try spend()
        memo[index] = try top()
    }

    mutating func recall(_ index: Int) throws {
        guard let v = memo[index] else { throw fail("memo entry \(index) is read before it is written") }
        try push(v)
    }

    // MARK: the machine

    mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = pos
            let op = try u8()
            switch op {
            case 0x80:  // PROTO
                let v = try u8()
                guard v <= 5 else { throw fail("pickle protocol \(v) is newer than the 5 supported") }
            case 0x95: _ = try take(8)  // FRAME: only a buffering hint
            case 0x2E: return try pop()  // STOP
            case 0x28:  // MARK
                try spend()
                marks.append(stack.count)
            case 0x30:  // POP (an empty frame pops its MARK, as CPython does)
                if stack.count == (marks.last ?? 0), !marks.isEmpty { marks.removeLast() } else { _ = try pop() }
            case 0x31: _ = try popToMark()  // POP_MARK
            case 0x32: try push(try top())  // DUP

            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
            case 0x4B: try push(.int(try u8()))  // BININT1
            case 0x4D: try push(.int(try unsigned(2)))  // BININT2
            case 0x8A: try push(try long(try u8()))  // LONG1
            case 0x8B: try push(try long(try signedLength()))  // LONG4
            case 0x47:  // BINFLOAT, big-endian
                let at = try take(8)
                var bits: UInt64 = 0
                for i in 0..<8 { bits = bits << 8 | UInt64(base.load(fromByteOffset: at + i, as: UInt8.self)) }
                try push(.float(Double(bitPattern: bits)))

            case 0x58: try push(.string(try text(try unsigned(4))))  // BINUNICODE
            case 0x8C: try push(.string(try text(try u8())))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(try unsigned(8))))  // BINUNICODE8
            case 0x55: try push(.string(try text(try u8())))  // SHORT_BINSTRING (Python 2 str)
            case 0x54: try push(.string(try text(try signedLength())))  // BINSTRING
            case 0x43: try push(try bytes(try u8()))  // SHORT_BINBYTES
            case 0x42: try push(try bytes(try unsigned(4)))  // BINBYTES
            case 0x8E, 0x96: try push(try bytes(try unsigned(8)))  // BINBYTES8, BYTEARRAY8

            case 0x7D: try push(.dict(try newDict()))  // EMPTY_DICT
            case 0x64: try push(.dict(try newDict(try popToMark())))  // DICT
            case 0x5D: try push(.list(try newList([])))  // EMPTY_LIST
            case 0x6C: try push(.list(try newList(try popToMark())))  // LIST
            case 0x29: try push(.tuple(try newList([])))  // EMPTY_TUPLE
            case 0x74: try push(.tuple(try newList(try popToMark())))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                var items = [PickleValue](repeating: .none, count: Int(op) - 0x84)
                for i in items.indices.reversed() { items[i] = try pop() }
                try push(.tuple(try newList(items)))
            case 0x61:  // APPEND
                let v = try pop()
                try topList("APPEND").items.append(v)
            case 0x65:  // APPENDS
                let items = try popToMark()
                try topList("APPENDS").items.append(contentsOf: items)
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                try topDict("SETITEM").entries.append((key, value))
            case 0x75:  // SETITEMS
                let items = try popToMark()
                try setItems(try topDict("SETITEMS"), items)

            case 0x71: try memoize(try u8())  // BINPUT
            case 0x72: try memoize(try unsigned(4))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x68: try recall(try u8())  // BINGET
            case 0x6A: try recall(try unsigned(4))  // LONG_BINGET

            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line()
                try push(try global(module, try line()))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw fail("STACK_GLOBAL needs two strings, got \(module.kind) and \(name.kind)")
                }
                try push(try global(m, n))
            case 0x52:  // REDUCE: callable(*args)
                let args = try pop(), callable = try pop()
                try push(try call(callable, args))
            case 0x81:  // NEWOBJ: cls.__new__(cls, *args); only an OrderedDict may be made this way
                let args = try pop(), cls = try pop()
                guard case .global(let g) = cls, g.role == .orderedDict else {
                    throw refuse("creates an object of \(cls.kind) with NEWOBJ")
                }
                try push(try call(cls, args))
            case 0x62:  // BUILD: only the state dict's `_metadata` attribute, which is ignored
                let state = try pop()
                let target = try top()
                guard case .dict = target else { throw refuse("sets the state of \(target.kind) with BUILD (state: \(state.kind))") }
            case 0x51:  // BINPERSID
                try push(.storage(try storage(try pop())))

            default:
                if let name = Self.refusedOpcodes[op] {
                    throw refuse("uses the pickle opcode \(name), which state dicts do not need")
                }
                throw fail("unknown pickle opcode 0x\(String(op, radix: 16))")
            }
        }
    }

    /// Opcodes outside the protocol-2+ subset torch.save writes, by name for messages.
    static let refusedOpcodes: [Int: String] = [
        0x49: "INT", 0x4C: "LONG", 0x53: "STRING", 0x56: "UNICODE", 0x46: "FLOAT", 0x70: "PUT",
        0x67: "GET", 0x50: "PERSID", 0x69: "INST", 0x6F: "OBJ", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
        0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]

    mutating func signedLength() throws -> Int {
        let n = Int(Int32(truncatingIfNeeded: try unsigned(4)))
        guard n >= 0 else { throw fail("a negative length \(n)") }
        return n
    }

    /// LONG1/LONG4: `n` bytes of little-endian two's complement.
    mutating func long(_ n: Int) throws -> PickleValue {
        let at = try take(n)
        guard n > 0 else { return .int(0) }
        guard n <= 8 else { return .bigInt }
        let v = littleEndian(at: at, n)
        let unused = UInt64(64 - 8 * n)
        return .int(Int(Int64(bitPattern: v << unused) >> Int64(unused)))  // sign-extend
    }

    mutating func bytes(_ n: Int) throws -> PickleValue {
        _ = try take(n)
        return .bytes(count: n)
    }

    func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = "\(module).\(name)"
        if let g = PickleGlobal.allowed[full] { return .global(g) }
        // Hostile names may be long or hold control characters; show a clean, short form.
        let clean = String(String.UnicodeScalarView(full.unicodeScalars.prefix(120).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        let shown = full.unicodeScalars.count > 120 ? clean + "..." : clean
        if module == "torch._utils", name.hasPrefix("_rebuild_") {
            // Real torch functions for tensors this reader does not handle; still never run.
            throw ElectraError("\(file): \(member) holds a tensor rebuilt by '\(shown)' (a quantized, sparse, meta, subclass or float8/uint16-style tensor), which is not supported; only plain dense tensors are")
        }
        if module == "torch", name.hasSuffix("Storage") {
            let supported = PickleGlobal.storageTypes.map { "torch.\($0.0)" }.joined(separator: ", ")
            throw ElectraError("\(file): \(member) holds a tensor of storage type '\(shown)', which is not supported (supported: \(supported))")
        }
        throw refuse("references the global '\(shown)', which a checkpoint must not contain")
    }

    /// REDUCE and NEWOBJ: builds what an allowed callable would return; anything else is refused.
    mutating func call(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else { throw refuse("calls \(callable.kind), which is not callable") }
        guard case .tuple(let t) = args else { throw fail("the arguments of '\(g.name)' are \(args.kind), not a tuple") }
        let a = t.items
        switch g.role {
        case .orderedDict:
            guard a.isEmpty else { throw fail("'\(g.name)' is called with \(a.count) arguments; a state dict passes none") }
            return .dict(try newDict())
        case .rebuildTensor:
            return .tensor(try rebuildTensor(a))
        case .rebuildParameter(let withState):
            guard a.count == (withState ? 4 : 3), case .tensor(let tensor) = a[0] else {
                throw fail("'\(g.name)' needs (tensor, requires_grad, hooks\(withState ? ", state" : "")), got \(a.count) arguments")
            }
            return .tensor(tensor)
        case .storageType:
            throw refuse("calls '\(g.name)', which a checkpoint may only name as a storage type")
        }
    }

    mutating func rebuildTensor(_ a: [PickleValue]) throws -> PickledTensor {
        guard a.count == 6 || a.count == 7, case .storage(let s) = a[0], case .int(let offset) = a[1],
              let shape = try ints(a[2]), let strides = try ints(a[3]), case .bool = a[4] else {
            throw fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks), got (\(a.map(\.kind).joined(separator: ", ")))")
        }
        guard shape.count == strides.count else {
            throw fail("a tensor has \(shape.count) sizes but \(strides.count) strides")
        }
        return PickledTensor(storage: s, offset: offset, shape: shape, strides: strides)
    }

    /// A size or stride tuple as an array. The tuple may be one memoized object fetched again
    /// for every tensor, so the rank is capped before copying and each copied element is
    /// charged to the budget: otherwise memory would grow as tensors x tuple length.
    mutating func ints(_ v: PickleValue) throws -> [Int]? {
        guard case .tuple(let t) = v else { return nil }
        guard t.items.count <= Self.maxRank else {
            throw fail("a tensor has \(t.items.count) dimensions, more than the \(Self.maxRank) accepted")
        }
        for _ in t.items { try spend() }
        var out: [Int] = []
        out.reserveCapacity(t.items.count)
        for item in t.items {
            guard case .int(let i) = item else { return nil }
            out.append(i)
        }
        return out
    }

    /// BINPERSID: torch's persistent id ('storage', storage_type, key, location, numel).
    func storage(_ pid: PickleValue) throws -> PickledStorage {
        guard case .tuple(let t) = pid, t.items.count == 5, case .string("storage") = t.items[0] else {
            throw fail("a persistent id is \(pid.kind), not ('storage', type, key, location, numel)")
        }
        let f = t.items
        guard case .global(let g) = f[1], case .storageType(let dtype) = g.role else {
            throw fail("a persistent id names \(f[1].kind) as its storage type")
        }
        guard case .string(let key) = f[2], !key.isEmpty, case .string = f[3], case .int(let numel) = f[4], numel >= 0 else {
            throw fail("a persistent id is not ('storage', type, key, location, numel) (got \(f.map(\.kind).joined(separator: ", ")))")
        }
        return PickledStorage(key: key, dtype: dtype, numel: numel)
    }
}
