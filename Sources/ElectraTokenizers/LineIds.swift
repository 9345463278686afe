import Foundation

/// Token ids of many raw text lines, without special tokens, truncation or padding: what
/// pretraining data is built from (ElectraTraining's `electra prepare-data`).
public struct LineTokenIds: Sendable {
    /// Every line's ids back to back: line i is ids[starts[i]..<starts[i + 1]].
    public var ids: [Int32] = []
    public var starts: [Int] = [0]
    /// Lines that are not valid UTF-8: skipped (no ids), by index in the input.
    public var invalidUTF8: [Int] = []

    public var lineCount: Int { starts.count - 1 }
    public func line(_ i: Int) -> ArraySlice<Int32> { ids[starts[i]..<starts[i + 1]] }
}

extension ElectraTokenizer {
    /// Tokenizes `lines` (UTF-8 bytes, no newline) on `threads` workers (default: all cores).
    /// The tokenizer's truncation and padding settings do not apply: lines are never cut.
    public func tokenIds(lines: [ArraySlice<UInt8>], threads: Int? = nil) throws -> LineTokenIds {
        var out = LineTokenIds()
        out.starts.reserveCapacity(lines.count + 1)
        try parallelChunks(count: lines.count, threads: threads, work: { range -> LineTokenIds in
            let scratch = Scratch()
            var part = LineTokenIds()
            part.starts.reserveCapacity(range.count + 1)
            part.ids.reserveCapacity(range.count * 32)
            var ws = scratch.ws
            defer { scratch.ws = ws }
            for k in range {
                if let text = String(validating: lines[k], as: UTF8.self) {
                    var s = text
                    s.withUTF8 { buf in
                        if let base = buf.baseAddress { core.pipeline.run(base, buf.count, into: &ws) } else { ws.resetTokens() }
                    }
                    let n = ws.ids.count
                    for i in 0..<n { part.ids.append(ws.ids[i]) }
                } else {
                    part.invalidUTF8.append(k)
                }
                part.starts.append(part.ids.count)
            }
            return part
        }, collect: { _, part in
            let base = out.ids.count
            out.ids += part.ids
            out.starts += part.starts.dropFirst().map { $0 + base }
            out.invalidUTF8 += part.invalidUTF8
        })
        return out
    }
}
