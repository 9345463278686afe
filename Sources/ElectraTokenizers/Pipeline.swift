// The tokenization pipeline for one sequence, over UTF-8 bytes:
//   raw added tokens -> BertNormalizer (with alignment) -> normalized added tokens
//   -> pre-tokenizer -> WordPiece.
// Every normalized byte remembers the original character it came from, which is how offsets
// stay exact when normalization removes, expands or replaces characters.

final class Pipeline: Sendable {
    let classes = CharacterClasses.shared
    let normalizer: NormalizerOptions?
    let preTokenizer: PreTokenizerKind?
    let vocab: ByteTable            // full vocabulary: word-initial pieces
    let continuation: ByteTable     // entries with the continuation prefix, prefix removed
    let unkId: Int32
    let maxInputCharsPerWord: Int
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Per ASCII byte: output byte after clean/lowercase, 0xFF = dropped.
    private let asciiMap: [UInt8]
    /// Per ASCII byte: 0 = word char, 1 = whitespace, 2 = punctuation (for the pre-tokenizer).
    private let asciiKind: [UInt8]

    init(
        normalizer: NormalizerOptions?, preTokenizer: PreTokenizerKind?, vocab: ByteTable,
        continuation: ByteTable, unkId: Int, maxInputCharsPerWord: Int, addedTokens: [AddedToken]
    ) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.vocab = vocab
        self.continuation = continuation
        self.unkId = Int32(unkId)
        self.maxInputCharsPerWord = maxInputCharsPerWord
        let classes = CharacterClasses.shared
        var map = [UInt8](repeating: 0, count: 128)
        var kind = [UInt8](repeating: 0, count: 128)
        for b in 0..<128 {
            var out = UInt8(b)
            let f = classes.flags(UInt32(b))
            if let n = normalizer {
                if n.cleanText && f.contains(.removed) { out = 0xFF }
                if n.cleanText && f.contains(.cleanWhitespace) { out = 0x20 }
                if n.lowercase && b >= 65 && b <= 90 { out = UInt8(b + 32) }
            }
            map[b] = out
            let g = classes.flags(UInt32(b))
            switch preTokenizer {
            case .bert?: kind[b] = g.contains(.whitespace) ? 1 : g.contains(.punctuation) ? 2 : 0
            case .whitespace?: kind[b] = g.contains(.whitespace) ? 1 : g.contains(.regexWord) ? 0 : 2
            case .whitespaceSplit?: kind[b] = g.contains(.whitespace) ? 1 : 0
            case nil: kind[b] = 0
            }
        }
        asciiMap = map
        asciiKind = kind
        rawMatcher = AddedTokenMatcher(
            addedTokens.filter { !$0.normalized }.map { .init(bytes: Array($0.content.utf8), token: $0) })
        // Normalized added tokens are matched against their normalized form (HF normalizes the
        // token content with the same normalizer).
        var normalizedPatterns: [AddedTokenMatcher.Pattern] = []
        let tmp = Scratch()
        for t in addedTokens where t.normalized {
            var ws = tmp.ws
            ws.resetNormalized()
            var s = t.content
            s.withUTF8 { buf in
                map.withUnsafeBufferPointer { m in
                    if let base = buf.baseAddress {
                        Pipeline.normalize(
                            base, 0, buf.count, charBase: 0, options: normalizer, classes: classes,
                            asciiMap: m, into: &ws)
                    }
                }
            }
            normalizedPatterns.append(.init(bytes: Array(UnsafeBufferPointer(start: ws.norm.base, count: ws.norm.count)), token: t))
            tmp.ws = ws
        }
        normalizedMatcher = AddedTokenMatcher(normalizedPatterns)
    }

    /// Tokenize one sequence into `ws` token columns (ids, offsets relative to this text).
    func run(_ p: UnsafePointer<UInt8>, _ n: Int, into ws: inout Workspace) {
        ws.resetTokens()
        var word: Int32 = 0
        if rawMatcher.isEmpty {
            segment(p, 0, n, charBase: 0, word: &word, ws: &ws)
            return
        }
        let matches = rawMatcher.findMatches(p, n, classes: classes)
        var pos = 0
        var charPos = 0
        @inline(__always) func chars(_ a: Int, _ b: Int) -> Int {
            var c = 0
            for i in a..<b where p[i] & 0xC0 != 0x80 { c += 1 }
            return c
        }
        for m in matches {
            if m.start > pos {
                segment(p, pos, m.start, charBase: charPos, word: &word, ws: &ws)
                charPos += chars(pos, m.start)
            }
            let c0 = charPos
            charPos += chars(m.start, m.stop)
            ws.pushToken(
                id: Int32(m.id), chars: (Int32(c0), Int32(charPos)),
                bytes: (Int32(m.start), Int32(m.stop)), word: word)
            word += 1
            pos = m.stop
        }
        if pos < n { segment(p, pos, n, charBase: charPos, word: &word, ws: &ws) }
    }

    /// A stretch of raw text without raw added tokens: normalize, then split and tokenize.
    private func segment(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, charBase: Int, word: inout Int32,
        ws: inout Workspace
    ) {
        ws.resetNormalized()
        asciiMap.withUnsafeBufferPointer { map in
            Pipeline.normalize(
                p, start, end, charBase: charBase, options: normalizer, classes: classes,
                asciiMap: map, into: &ws)
        }
        let n = ws.norm.count
        if n == 0 { return }
        if normalizedMatcher.isEmpty {
            preTokenize(0, n, word: &word, ws: &ws)
            return
        }
        let matches = normalizedMatcher.findMatches(ws.norm.base, n, classes: classes)
        var pos = 0
        for m in matches {
            if m.start > pos { preTokenize(pos, m.start, word: &word, ws: &ws) }
            emit(Int32(m.id), m.start, m.stop, word: word, ws: &ws)
            word += 1
            pos = m.stop
        }
        if pos < n { preTokenize(pos, n, word: &word, ws: &ws) }
    }

    /// BertNormalizer over p[start..<end], appending normalized bytes and their alignment.
    static func normalize(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, charBase: Int,
        options: NormalizerOptions?, classes: CharacterClasses, asciiMap: UnsafeBufferPointer<UInt8>,
        into ws: inout Workspace
    ) {
        let clean = options?.cleanText ?? false
        let cjk = options?.handleChineseChars ?? false
        let strip = options?.effectiveStripAccents ?? false
        let lower = options?.lowercase ?? false
        let identity = options == nil
        var i = start
        var charIdx = Int32(charBase)
        ws.norm.reserve(end - start); ws.origChar.reserve(end - start)
        ws.origByte.reserve(end - start); ws.origLen.reserve(end - start)
        while i < end {
            let b = p[i]
            if b < 0x80 {
                // ASCII fast path.
                let o = identity ? b : asciiMap[Int(b)]
                if o != 0xFF {
                    ws.norm.reserve(1); ws.origChar.reserve(1); ws.origByte.reserve(1); ws.origLen.reserve(1)
                    ws.norm.appendUnchecked(o)
                    ws.origChar.appendUnchecked(charIdx)
                    ws.origByte.appendUnchecked(Int32(i))
                    ws.origLen.appendUnchecked(1)
                }
                i += 1
                charIdx += 1
                continue
            }
            let (u, len) = decodeScalar(p, i)
            let at = Int32(i)
            let l8 = UInt8(len)
            defer {
                i += len
                charIdx += 1
            }
            if identity {
                ws.pushNormalized(u, char: charIdx, byte: at, len: l8)
                continue
            }
            let f = classes.flags(u)
            if clean {
                if f.contains(.removed) { continue }
                if f.contains(.cleanWhitespace) {
                    ws.pushNormalized(0x20, char: charIdx, byte: at, len: l8)
                    continue
                }
            }
            let isCJK = cjk && f.contains(.cjk)
            if isCJK { ws.pushNormalized(0x20, char: charIdx, byte: at, len: l8) }
            if !f.contains(.mapped) && !(strip && f.contains(.stripRemoves)) {
                ws.pushNormalized(u, char: charIdx, byte: at, len: l8)
            } else if strip {
                if f.contains(.stripRemoves) {
                    // nonspacing mark: dropped
                } else if u >= 0xAC00 && u <= 0xD7A3 {
                    // Hangul syllable -> conjoining jamo (NFD); jamo have no lowercase.
                    let s = u - 0xAC00
                    ws.pushNormalized(0x1100 + s / 588, char: charIdx, byte: at, len: l8)
                    ws.pushNormalized(0x1161 + (s % 588) / 28, char: charIdx, byte: at, len: l8)
                    if s % 28 != 0 { ws.pushNormalized(0x11A7 + s % 28, char: charIdx, byte: at, len: l8) }
                } else if let d = classes.decomposition(u) {
                    for k in 0..<d.count {
                        pushLowered(classes.pool[d.start + k], lower, classes, charIdx, at, l8, &ws)
                    }
                } else {
                    pushLowered(u, lower, classes, charIdx, at, l8, &ws)
                }
            } else {
                pushLowered(u, lower, classes, charIdx, at, l8, &ws)
            }
            if isCJK { ws.pushNormalized(0x20, char: charIdx, byte: at, len: l8) }
        }
    }

    @inline(__always)
    private static func pushLowered(
        _ u: UInt32, _ lower: Bool, _ classes: CharacterClasses, _ charIdx: Int32, _ at: Int32,
        _ l8: UInt8, _ ws: inout Workspace
    ) {
        if lower {
            if u < 0x80 {
                let v = (u >= 65 && u <= 90) ? u + 32 : u
                ws.pushNormalized(v, char: charIdx, byte: at, len: l8)
                return
            }
            if let m = classes.lowercase(u) {
                for k in 0..<m.count {
                    ws.pushNormalized(classes.pool[m.start + k], char: charIdx, byte: at, len: l8)
                }
                return
            }
        }
        ws.pushNormalized(u, char: charIdx, byte: at, len: l8)
    }

    /// Split normalized bytes [start, end) into words and run WordPiece on each.
    private func preTokenize(_ start: Int, _ end: Int, word: inout Int32, ws: inout Workspace) {
        let p = ws.norm.base
        guard let kindOf = preTokenizer else {
            wordPiece(start, end, word: word, ws: &ws)
            word += 1
            return
        }
        asciiKind.withUnsafeBufferPointer { asciiKind in
            var wordStart = -1
            var wordKind: UInt8 = 0  // for `.whitespace`: kind of the current run
            var i = start
            while i < end {
                let b = p[i]
                var kind: UInt8
                var len = 1
                if b < 0x80 {
                    kind = asciiKind[Int(b)]
                } else {
                    let (u, l) = decodeScalar(p, i)
                    len = l
                    let f = classes.flags(u)
                    switch kindOf {
                    case .bert: kind = f.contains(.whitespace) ? 1 : f.contains(.punctuation) ? 2 : 0
                    case .whitespace: kind = f.contains(.whitespace) ? 1 : f.contains(.regexWord) ? 0 : 2
                    case .whitespaceSplit: kind = f.contains(.whitespace) ? 1 : 0
                    }
                }
                if kind == 1 {
                    if wordStart >= 0 {
                        wordPiece(wordStart, i, word: word, ws: &ws)
                        word += 1
                        wordStart = -1
                    }
                } else if kind == 2 && kindOf == .bert {
                    if wordStart >= 0 {
                        wordPiece(wordStart, i, word: word, ws: &ws)
                        word += 1
                        wordStart = -1
                    }
                    wordPiece(i, i + len, word: word, ws: &ws)
                    word += 1
                } else if wordStart < 0 {
                    wordStart = i
                    wordKind = kind
                } else if kind != wordKind {
                    // `.whitespace`: a run of word chars and a run of other chars are two words.
                    wordPiece(wordStart, i, word: word, ws: &ws)
                    word += 1
                    wordStart = i
                    wordKind = kind
                }
                i += len
            }
            if wordStart >= 0 {
                wordPiece(wordStart, end, word: word, ws: &ws)
                word += 1
            }
        }
    }

    @inline(__always)
    private func emit(_ id: Int32, _ s: Int, _ e: Int, word: Int32, ws: inout Workspace) {
        let c0 = ws.origChar[s]
        let c1 = ws.origChar[e - 1] + 1
        let b0 = ws.origByte[s]
        let b1 = ws.origByte[e - 1] + Int32(ws.origLen[e - 1])
        ws.pushToken(id: id, chars: (c0, c1), bytes: (b0, b1), word: word)
    }

    /// Greedy longest-match-first WordPiece over normalized bytes [ws, we).
    private func wordPiece(_ wStart: Int, _ wEnd: Int, word: Int32, ws: inout Workspace) {
        let p = UnsafePointer(ws.norm.base)
        // Character count (HF compares chars, not bytes, with max_input_chars_per_word).
        var nChars = 0
        for i in wStart..<wEnd where p[i] & 0xC0 != 0x80 { nChars += 1 }
        if nChars > maxInputCharsPerWord {
            emit(unkId, wStart, wEnd, word: word, ws: &ws)
            return
        }
        let firstToken = ws.ids.count
        let longest = max(vocab.maxKeyLength, continuation.maxKeyLength)
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(1, longest)) { prefixHash in
            var start = wStart
            while start < wEnd {
                let table = start == wStart ? vocab : continuation
                let limit = min(wEnd, start + table.maxKeyLength)
                // Hashes of every candidate [start, end) in one forward pass.
                var h = ByteTable.fnvOffset
                var k = start
                while k < limit {
                    h = (h ^ UInt64(p[k])) &* ByteTable.fnvPrime
                    prefixHash[k - start] = h
                    k += 1
                }
                var end = limit
                while end > start && end < wEnd && p[end] & 0xC0 == 0x80 { end -= 1 }
                var id = -1
                while end > start {
                    id = table.lookup(p + start, end - start, hash: prefixHash[end - start - 1])
                    if id >= 0 { break }
                    end -= 1
                    while end > start && p[end] & 0xC0 == 0x80 { end -= 1 }
                }
                if id < 0 {
                    ws.truncateTokens(to: firstToken)
                    emit(unkId, wStart, wEnd, word: word, ws: &ws)
                    return
                }
                emit(Int32(id), start, end, word: word, ws: &ws)
                start = end
            }
        }
    }
}
