import Foundation
import Testing

@testable import Electra

/// The MessagePack decoder under Flax checkpoints, on hand-made input.
struct MessagePackTests {
    static func read(_ bytes: [UInt8], maxObjects: Int? = nil) throws -> MessagePackValue {
        try bytes.withUnsafeBytes { b in
            var r = MessagePackReader(base: b.baseAddress!, range: 0..<b.count, source: "t.msgpack", maxObjects: maxObjects)
            let v = try r.value()
            guard r.pos == b.count else { throw ElectraError("\(b.count - r.pos) bytes left") }
            return v
        }
    }

    @Test func decodesNestedValues() throws {
        // {"a": [1, -1, "x", nil, true], "b": bin(2 bytes), 7: 300}
        let bytes: [UInt8] = [0x83, 0xA1, 0x61, 0x95, 0x01, 0xFF, 0xA1, 0x78, 0xC0, 0xC3, 0xA1, 0x62, 0xC4, 0x02, 9, 8, 0x07, 0xCD, 0x01, 0x2C]
        guard case .map(let m) = try Self.read(bytes), m.count == 3 else { Issue.record("not a 3-entry map"); return }
        #expect(m[0].0.stringValue == "a" && m[1].0.stringValue == "b" && m[2].0.intValue == 7)
        guard case .array(let a) = m[0].1 else { Issue.record("not an array"); return }
        #expect(a.count == 5 && a[0].intValue == 1 && a[1].intValue == -1 && a[2].stringValue == "x")
        guard case .binary(let r) = m[1].1 else { Issue.record("not binary"); return }
        #expect(r == 14..<16)
        #expect(m[2].1.intValue == 300)
    }

    /// Decoded values take many times the bytes they come from (a one-byte int becomes an
    /// enum value in an array), so the number of values is capped by the input size: a file
    /// of a million one-byte elements is refused, naming the file, instead of taking ~50 MB.
    @Test func valuesAreBudgetedByInputSize() throws {
        let n = 1_000_000
        let flood: [UInt8] = [0xDD, 0x00, 0x0F, 0x42, 0x40] + [UInt8](repeating: 0x01, count: n)  // array of 10^6 ints
        let m = errorMessage { _ = try Self.read(flood) }
        #expect(m.hasPrefix("t.msgpack: invalid MessagePack at byte "), "\(m)")
        #expect(m.contains("more than 315537 values"), "\(m)")  // 1_000_005 / 4 + 65_536
        // Maps of one-byte keys and values, and nested empty arrays, count every value too.
        let mapFlood: [UInt8] = [0xDF, 0x00, 0x07, 0xA1, 0x20] + [UInt8](repeating: 0x02, count: 2 * 500_000)
        #expect(errorMessage { _ = try Self.read(mapFlood) }.contains("more than 315537 values"))
        let small: [UInt8] = [0xDC, 0x03, 0xE8] + [UInt8](repeating: 0x90, count: 1000)
        #expect(errorMessage { _ = try Self.read(small, maxObjects: 1000) }.contains("more than 1000 values"))
        guard case .array(let a) = try Self.read(small) else { Issue.record("not an array"); return }
        #expect(a.count == 1000)
        #expect(MessagePackReader.objectBudget(forBytes: 400) == 65_636)
    }

    @Test func truncatedAndDeepInputIsAnError() throws {
        #expect(errorMessage { _ = try Self.read([0xA3, 0x61]) }.contains("needs 3 more bytes"))
        #expect(errorMessage { _ = try Self.read([UInt8](repeating: 0x91, count: 100) + [0x01]) }.contains("nesting deeper than 64 levels"))
        #expect(errorMessage { _ = try Self.read([0xDD, 0xFF, 0xFF, 0xFF, 0xFF]) }.contains("longer than the data left"))
    }
}
