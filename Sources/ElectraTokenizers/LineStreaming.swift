import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams text lines to JSON lines (what `electra tokenize` does) with bounded memory:
/// lines are read in chunks, each chunk is encoded and formatted on all cores, and a writer
/// thread writes the chunks in input order while the next one is read and encoded (at most
/// two chunks wait for it).
public struct LineTokenizer: Sendable {
    public var tokenizer: ElectraTokenizer
    /// Each line is `TEXT<TAB>PAIR`.
    public var pairs = false
    /// Substitute U+FFFD for invalid UTF-8 instead of failing.
    public var replaceInvalidUTF8 = false
    public var addSpecialTokens = true
    /// Lines per chunk (also the batch that `.longest` padding pads within).
    public var chunkLines = 4096
    public var threads: Int? = nil
    /// Write only the input ids, space-separated, one line per input (overflowing windows
    /// follow on the same line, each after a tab) instead of JSON objects.
    public var idsOnly = false

    public init(tokenizer: ElectraTokenizer) {
        self.tokenizer = tokenizer
    }

    /// Read all of `input` (a file descriptor), write JSON lines to `output`.
    /// Returns the number of lines processed.
    @discardableResult
    public func run(input: Int32, output: Int32) throws -> Int {
        let reader = LineReader(fd: input)
        let json = JSONLineWriter(tokenizer: tokenizer)
        let idsOnly = self.idsOnly
        let format = { @Sendable (e: [Encoding]) -> [UInt8] in idsOnly ? IdsLineWriter.lines(e) : json.lines(e) }
        let writer = OrderedWriter(fd: output)
        defer { writer.close() }
        var lineNumber = 0
        while true {
            let lines = try reader.nextLines(max: chunkLines)
            if lines.isEmpty { break }
            let first = lineNumber + 1
            lineNumber += lines.count
            // Phase 1 (parallel): validate, split pairs, encode. Errors name the first bad line.
            let tok = tokenizer
            let (pairs, replace, special) = (self.pairs, replaceInvalidUTF8, addSpecialTokens)
            let encodeLines = { (range: Range<Int>) throws -> [Encoding] in
                let scratch = Scratch()
                var out: [Encoding] = []
                out.reserveCapacity(range.count)
                for k in range {
                    let bytes = lines[k]
                    let text: String
                    if let s = String(validating: bytes, as: UTF8.self) {
                        text = s
                    } else if replace {
                        text = String(decoding: bytes, as: UTF8.self)
                    } else {
                        throw TokenizerError.invalidUTF8(line: first + k)
                    }
                    do {
                        if pairs {
                            guard let tab = text.utf8.firstIndex(of: 0x09) else {
                                throw TokenizerError.invalidOption("line \(first + k): --pairs expects TEXT<TAB>PAIR but the line has no tab")
                            }
                            let a = String(text[..<tab]), b = String(text[text.utf8.index(after: tab)...])
                            out.append(try tok.encodeUnpadded(a, pair: b, addSpecialTokens: special, scratch: scratch))
                        } else {
                            out.append(try tok.encodeUnpadded(text, pair: nil, addSpecialTokens: special, scratch: scratch))
                        }
                    } catch TokenizerError.invalidOption(let m) {
                        throw TokenizerError.invalidOption(m)
                    } catch {
                        throw TokenizerError.invalidOption("line \(first + k): \(error)")
                    }
                }
                return out
            }
            if tok.padding == nil {
                // No padding: each chunk encodes and formats in one pass (no second parallel
                // phase, the encodings still in cache), then the chunks are written in order.
                var chunks: [[UInt8]] = []
                try parallelChunks(count: lines.count, threads: threads, work: { range in
                    format(try encodeLines(range))
                }, collect: { _, buf in chunks.append(buf) })
                try writer.enqueue(chunks)
                continue
            }
            var encodings: [Encoding] = []
            encodings.reserveCapacity(lines.count)
            try parallelChunks(count: lines.count, threads: threads, work: encodeLines, collect: { _, chunk in encodings += chunk })
            // Phase 2: the chunk's padding length. (HF pads each encoding, then the batch; the
            // batch length is never shorter, so padding once to it gives the same result.)
            var padLength: Int? = nil
            if let p = tok.padding {
                let base: Int
                switch p.strategy {
                case .fixed(let n): base = n
                case .longest: base = encodings.map(\.count).max() ?? 0
                }
                padLength = ElectraTokenizer.targetLength(base, p)
            }
            // Phase 3 (parallel): pad and format JSON; written in input order.
            var chunks: [[UInt8]] = []
            let ready = encodings
            try parallelChunks(count: ready.count, threads: threads, work: { range in
                var part = Array(ready[range])
                if let padLength, let p = tok.padding {
                    for k in part.indices { part[k].pad(to: padLength, padId: p.padId, padTypeId: p.padTypeId, direction: p.direction) }
                }
                return format(part)
            }, collect: { _, buf in chunks.append(buf) })
            try writer.enqueue(chunks)
        }
        try writer.finish()
        return lineNumber
    }
}

/// Writes buffers to a file descriptor in the order they are queued, on its own thread, so
/// that writing overlaps the reading and encoding of the next chunk. `enqueue` blocks while
/// `depth` groups wait (memory stays bounded); a write error is thrown by the next
/// `enqueue` or by `finish`, and nothing more is written after it.
final class OrderedWriter: @unchecked Sendable {
    private let fd: Int32
    private let condition = NSCondition()
    private var pending: [[[UInt8]]] = []
    private var closed = false
    private var error: Error?
    private var running = true
    private let depth: Int

    init(fd: Int32, depth: Int = 2) {
        self.fd = fd
        self.depth = depth
        let t = Thread { [unowned self] in self.loop() }
        t.stackSize = 1 << 20
        t.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty {
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            let group = pending[0]
            let failed = error != nil
            condition.unlock()
            var err: Error? = nil
            if !failed {
                do { for b in group { try writeAll(fd, b) } } catch { err = error }
            }
            condition.lock()
            pending.removeFirst()
            if let err, error == nil { error = err }
            condition.broadcast()
            condition.unlock()
        }
    }

    func enqueue(_ buffers: [[UInt8]]) throws {
        condition.lock()
        defer { condition.unlock() }
        while pending.count >= depth && error == nil { condition.wait() }
        if let error { throw error }
        pending.append(buffers)
        condition.broadcast()
    }

    /// Waits until everything queued is written; throws the first write error.
    func finish() throws {
        close()
        condition.lock()
        defer { condition.unlock() }
        if let error { throw error }
    }

    /// Stops the thread after what is queued (idempotent; the error path's cleanup).
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }
}

/// Reads '\n'-terminated lines from a file descriptor in large blocks.
public final class LineReader {
    let fd: Int32
    /// What read errors call the input.
    let name: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    /// Bytes read so far.
    public private(set) var bytesRead = 0

    public init(fd: Int32, name: String = "stdin") {
        self.fd = fd
        self.name = name
    }

    /// Up to `max` lines (without the '\n' and a trailing '\r'); empty at end of input.
    public func nextLines(max: Int) throws -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        // Compact consumed bytes.
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var scan = 0
        while out.count < max {
            if let nl = buffer[scan...].firstIndex(of: 0x0A) {
                var end = nl
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                out.append(buffer[start..<end])
                start = nl + 1
                scan = start
                continue
            }
            if eof {
                if start < buffer.count {
                    var end = buffer.count
                    if buffer[end - 1] == 0x0D { end -= 1 }
                    out.append(buffer[start..<end])
                    start = buffer.count
                }
                break
            }
            scan = buffer.count
            try fill()
        }
        return out
    }

    private func fill() throws {
        let size = 1 << 20
        let old = buffer.count
        buffer.reserveCapacity(old + size)
        var got = 0
        buffer.append(contentsOf: repeatElement(0, count: size))
        while true {
            got = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress! + old, size) }
            if got < 0 && errno == EINTR { continue }
            break
        }
        if got < 0 {
            buffer.removeLast(size)
            throw TokenizerError.unreadableFile(path: name, reason: String(cString: strerror(errno)))
        }
        buffer.removeLast(size - got)
        bytesRead += got
        if got == 0 { eof = true }
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n < 0 {
            if errno == EINTR { continue }
            throw TokenizerError.unreadableFile(path: "stdout", reason: String(cString: strerror(errno)))
        }
        off += n
    }
}

/// Formats encodings as JSON objects with HF keys, one per line, without Foundation's JSON
/// encoder (token strings are pre-escaped once per vocabulary entry).
struct JSONLineWriter: Sendable {
    /// Every vocabulary entry's quoted, escaped form, back to back; entry i is
    /// tokenBytes[tokenStarts[i]..<tokenStarts[i + 1]]. One flat buffer: an array of arrays
    /// cost a retain and a release per token written (a quarter of `electra tokenize`'s time).
    let tokenBytes: [UInt8]
    let tokenStarts: [Int]
    let maxEscaped: Int

    init(tokenizer: ElectraTokenizer) {
        let escaped = tokenizer.core.tokenStrings.strings.map { JSONLineWriter.escape($0) }
        var starts = [0]
        starts.reserveCapacity(escaped.count + 1)
        for e in escaped { starts.append(starts.last! + e.count) }
        tokenBytes = escaped.flatMap { $0 }
        tokenStarts = starts
        maxEscaped = (escaped.map(\.count).max() ?? 2) + 1
    }

    static func escape(_ s: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(0x22)
        return out
    }

    /// An upper bound of the bytes `writeLine` writes for `e`: per token an id and a type id
    /// of any Int (21 bytes each with the comma: a tokenizer file's pad_id or pad_type_id may
    /// be anything), a mask digit, an offset pair and the longest token string. Only
    /// reserved, never filled, so a loose bound costs nothing.
    func bound(_ e: Encoding) -> Int {
        let perToken = 21 + 21 + 3 + 26 + maxEscaped
        var bound = 161 + e.count * perToken
        for o in e.overflowing { bound += 160 + o.count * perToken }
        return bound
    }

    /// `e` as one JSON object and a newline, through a raw cursor with `bound(e)` bytes free.
    func writeLine(_ e: Encoding, _ out: inout RawOut) {
        writeObject(e, &out, overflow: true)
        out.byte(0x0A)
    }

    /// JSON lines for `encodings` in one buffer, sized by the bounds and never zero-filled:
    /// the objects are written straight into its uninitialised capacity.
    func lines(_ encodings: [Encoding]) -> [UInt8] {
        let total = encodings.reduce(0) { $0 + bound($1) }
        return [UInt8](unsafeUninitializedCapacity: total) { buf, written in
            var out = RawOut(p: buf.baseAddress!)
            for e in encodings { writeLine(e, &out) }
            written = out.i
        }
    }

    private static let kIds = Array("{\"input_ids\":".utf8)
    private static let kTypes = Array(",\"token_type_ids\":".utf8)
    private static let kMask = Array(",\"attention_mask\":".utf8)
    private static let kOffsets = Array(",\"offset_mapping\":[".utf8)
    private static let kTokens = Array("],\"tokens\":[".utf8)
    private static let kOverflow = Array(",\"overflowing\":[".utf8)

    private func writeObject(_ e: Encoding, _ out: inout RawOut, overflow: Bool) {
        out.bytes(Self.kIds)
        out.ints(e.ids)
        out.bytes(Self.kTypes)
        out.ints(e.typeIds)
        out.bytes(Self.kMask)
        out.ints(e.attentionMask)
        out.bytes(Self.kOffsets)
        for (i, r) in e.offsets.enumerated() {
            if i > 0 { out.byte(0x2C) }
            out.byte(0x5B)
            out.int(r.lowerBound)
            out.byte(0x2C)
            out.int(r.upperBound)
            out.byte(0x5D)
        }
        out.bytes(Self.kTokens)
        tokenBytes.withUnsafeBufferPointer { tb in
            tokenStarts.withUnsafeBufferPointer { ts in
                for (i, id) in e.ids.enumerated() {
                    if i > 0 { out.byte(0x2C) }
                    if id >= 0 && id < ts.count - 1 {
                        out.raw(tb.baseAddress! + ts[id], count: ts[id + 1] - ts[id])
                    } else {
                        out.byte(0x22)
                        out.byte(0x22)
                    }
                }
            }
        }
        out.byte(0x5D)
        if overflow && !e.overflowing.isEmpty {
            out.bytes(Self.kOverflow)
            for (i, o) in e.overflowing.enumerated() {
                if i > 0 { out.byte(0x2C) }
                writeObject(o, &out, overflow: false)
            }
            out.byte(0x5D)
        }
        out.byte(0x7D)
    }
}

/// `electra tokenize --ids`: each encoding's input ids as decimal numbers separated by spaces,
/// its overflowing windows after tabs, and a newline.
enum IdsLineWriter {
    static func lines(_ encodings: [Encoding]) -> [UInt8] {
        // 21 bytes bound one Int and its separator.
        let total = encodings.reduce(0) { $0 + 1 + 21 * ($1.count + $1.overflowing.reduce(1) { $0 + $1.count + 1 }) }
        return [UInt8](unsafeUninitializedCapacity: total) { buf, written in
            var out = RawOut(p: buf.baseAddress!)
            func window(_ ids: [Int]) {
                for (k, id) in ids.enumerated() {
                    if k > 0 { out.byte(0x20) }
                    out.int(id)
                }
            }
            for e in encodings {
                window(e.ids)
                for o in e.overflowing {
                    out.byte(0x09)
                    window(o.ids)
                }
                out.byte(0x0A)
            }
            written = out.i
        }
    }
}

/// Unchecked output cursor; the caller reserved enough room.
struct RawOut {
    let p: UnsafeMutablePointer<UInt8>
    var i = 0

    @inline(__always) mutating func byte(_ b: UInt8) {
        p[i] = b
        i += 1
    }

    @inline(__always) mutating func bytes(_ a: [UInt8]) {
        a.withUnsafeBufferPointer { src in
            (p + i).update(from: src.baseAddress!, count: src.count)
        }
        i += a.count
    }

    @inline(__always) mutating func raw(_ src: UnsafePointer<UInt8>, count: Int) {
        (p + i).update(from: src, count: count)
        i += count
    }

    @inline(__always) mutating func ints(_ v: [Int]) {
        byte(0x5B)
        for (k, x) in v.enumerated() {
            if k > 0 { byte(0x2C) }
            int(x)
        }
        byte(0x5D)
    }

    @inline(__always) mutating func int(_ x: Int) {
        if x >= 0 && x < 10 {
            byte(UInt8(48 + x))
            return
        }
        var v = x.magnitude
        if x < 0 { byte(0x2D) }
        var digits = 1
        var t = v
        while t >= 10 {
            t /= 10
            digits += 1
        }
        var k = i + digits - 1
        while k >= i {
            p[k] = UInt8(48 + v % 10)
            v /= 10
            k -= 1
        }
        i += digits
    }
}

/// The reverse of `LineTokenizer`: reads lines holding ids and writes decoded text lines.
/// A line may be a JSON object with `input_ids` (as `electra tokenize` writes), a JSON array of
/// ids, or ids separated by spaces/commas. Ids outside the vocabulary are an error.
public struct LineDetokenizer: Sendable {
    public var tokenizer: ElectraTokenizer
    public var skipSpecialTokens = true
    public var cleanUpTokenizationSpaces: Bool? = nil

    public init(tokenizer: ElectraTokenizer) {
        self.tokenizer = tokenizer
    }

    public func decodeLine(_ line: String, number: Int) throws -> String {
        let ids = try Self.parseIds(line, number: number)
        for id in ids where tokenizer.idToToken(id) == nil {
            throw TokenizerError.invalidOption("line \(number): token id \(id) is not in the vocabulary (size \(tokenizer.vocabSizeWithAddedTokens))")
        }
        return tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens, cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)
    }

    static func parseIds(_ line: String, number: Int) throws -> [Int] {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("{") {
            guard let obj = (try? JSONParser.parse(Array(trimmed.utf8)).any) as? [String: Any] else {
                throw TokenizerError.invalidOption("line \(number): not valid JSON")
            }
            guard let ids = obj["input_ids"] as? [Any] else {
                throw TokenizerError.invalidOption("line \(number): JSON object has no `input_ids` array")
            }
            return try ids.map {
                guard let i = $0 as? Int else { throw TokenizerError.invalidOption("line \(number): `input_ids` must hold integers") }
                return i
            }
        }
        var body = Substring(trimmed)
        if body.hasPrefix("[") {
            guard body.hasSuffix("]") else { throw TokenizerError.invalidOption("line \(number): unterminated [") }
            body = body.dropFirst().dropLast()
        }
        return try body.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map {
            guard let i = Int($0) else { throw TokenizerError.invalidOption("line \(number): \"\($0)\" is not a token id") }
            return i
        }
    }

    @discardableResult
    public func run(input: Int32, output: Int32) throws -> Int {
        let reader = LineReader(fd: input)
        var n = 0
        while true {
            let lines = try reader.nextLines(max: 4096)
            if lines.isEmpty { break }
            var out: [UInt8] = []
            for bytes in lines {
                n += 1
                guard let s = String(validating: bytes, as: UTF8.self) else { throw TokenizerError.invalidUTF8(line: n) }
                out += Array(try decodeLine(s, number: n).utf8)
                out.append(0x0A)
            }
            try writeAll(output, out)
        }
        return n
    }
}
