import Foundation

/// Immutable parts of a tokenizer, shared by all copies of an `ElectraTokenizer`.
final class TokenizerCore: Sendable {
    let pipeline: Pipeline
    let tokenStrings: TokenStrings          // id -> token (vocabulary and added tokens)
    let modelVocabSize: Int
    let tokenToIdMap: [String: Int]         // vocabulary and added tokens
    let addedTokens: [AddedToken]
    let addedById: [Int: AddedToken]
    let specialTokenStrings: Set<String>
    let template: PostProcessorTemplate
    let decoder: DecoderOptions?
    let continuingSubwordPrefix: String

    init(
        pipeline: Pipeline, tokenStrings: TokenStrings, modelVocabSize: Int,
        tokenToIdMap: [String: Int], addedTokens: [AddedToken], template: PostProcessorTemplate,
        decoder: DecoderOptions?, continuingSubwordPrefix: String
    ) {
        self.pipeline = pipeline
        self.tokenStrings = tokenStrings
        self.modelVocabSize = modelVocabSize
        self.tokenToIdMap = tokenToIdMap
        self.addedTokens = addedTokens
        var byId: [Int: AddedToken] = [:]
        for t in addedTokens { byId[t.id] = t }
        self.addedById = byId
        self.specialTokenStrings = Set(addedTokens.filter(\.special).map(\.content))
        self.template = template
        self.decoder = decoder
        self.continuingSubwordPrefix = continuingSubwordPrefix
    }
}

/// An ELECTRA/BERT WordPiece tokenizer with HF tokenizers' exact behaviour.
///
/// A value type: the vocabulary is shared, while `truncation` and `padding` can be changed per
/// copy. Loading a tokenizer.json honours its own truncation/padding sections, like HF does
/// (set them to nil to turn them off).
public struct ElectraTokenizer: Sendable {
    let core: TokenizerCore
    public var truncation: TruncationOptions?
    public var padding: PaddingOptions?
    /// `decode` also cleans up spaces, after the decoder (transformers' own cleanup, which a
    /// folder's clean_up_tokenization_spaces: true asks for); `decodeTokens` does not.
    public var cleansUpDecodedText = false

    public let unkTokenId: Int
    public let clsTokenId: Int
    public let sepTokenId: Int
    public let padTokenId: Int
    public let maskTokenId: Int

    /// WordPiece vocabulary size (without added tokens beyond it), e.g. 30,522.
    public var vocabSize: Int { core.modelVocabSize }
    /// Vocabulary plus added tokens that are not in it (Python `len(tokenizer)`).
    public var vocabSizeWithAddedTokens: Int {
        core.modelVocabSize + core.addedTokens.filter { $0.id >= core.modelVocabSize }.count
    }
    public var addedTokens: [AddedToken] { core.addedTokens }
    public var normalizer: NormalizerOptions? { core.pipeline.normalizer }
    public var preTokenizer: PreTokenizerKind? { core.pipeline.preTokenizer }
    public var template: PostProcessorTemplate { core.template }
    public var maxInputCharsPerWord: Int { core.pipeline.maxInputCharsPerWord }

    init(
        core: TokenizerCore, truncation: TruncationOptions?, padding: PaddingOptions?,
        specialTokens: (unk: String, cls: String, sep: String, pad: String, mask: String)
    ) throws {
        self.core = core
        func id(_ name: String, _ token: String) throws -> Int {
            guard let v = core.tokenToIdMap[token] else {
                throw TokenizerError.missingSpecialToken(name: name, token: token)
            }
            return v
        }
        unkTokenId = try id("unk_token", specialTokens.unk)
        clsTokenId = try id("cls_token", specialTokens.cls)
        sepTokenId = try id("sep_token", specialTokens.sep)
        padTokenId = try id("pad_token", specialTokens.pad)
        maskTokenId = try id("mask_token", specialTokens.mask)
        self.padding = padding
        self.truncation = nil
        try setTruncation(truncation)
    }

    /// Set truncation, validating it like HF (stride must fit in the effective max length).
    public mutating func setTruncation(_ options: TruncationOptions?) throws {
        if let t = options {
            let added = core.template.addedTokens(pair: false)
            if t.maxLength < added {
                throw TokenizerError.maxLengthTooSmall(maxLength: t.maxLength, specialTokens: added)
            }
            if t.stride < 0 || t.maxLength < 0 {
                throw TokenizerError.invalidOption("max_length and stride must not be negative")
            }
            if t.maxLength - added < t.stride {
                throw TokenizerError.strideTooLarge(stride: t.stride, maxLength: t.maxLength - added)
            }
        }
        truncation = options
    }

    public func tokenToId(_ token: String) -> Int? { core.tokenToIdMap[token] }

    public func idToToken(_ id: Int) -> String? {
        if let t = core.addedById[id] { return t.content }
        let s = core.tokenStrings[id]
        return s?.isEmpty == false ? s : nil
    }

    public func isSpecialToken(id: Int) -> Bool {
        core.addedById[id]?.special ?? false
    }

    // MARK: Encoding

    /// Encode a text or a text pair. Throws only for truncation the input cannot satisfy
    /// (HF raises the same errors): only_first/only_second when that sequence is too short,
    /// only_second without a pair, or a stride not smaller than a truncated sequence's length.
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) throws -> Encoding {
        let scratch = Scratch()
        var e = try encodeUnpadded(text, pair: pair, addSpecialTokens: addSpecialTokens, scratch: scratch)
        if let padding { Self.padOne(&e, padding) }
        return e
    }

    /// Encode many texts (on all cores unless `threads` says otherwise), then apply padding
    /// across the batch (`.longest` pads to the longest encoding of this batch).
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true, threads: Int? = nil) throws -> [Encoding] {
        try encodeBatch(count: texts.count, threads: threads) { i, scratch in
            try encodeUnpadded(texts[i], pair: nil, addSpecialTokens: addSpecialTokens, scratch: scratch)
        }
    }

    /// Encode many text pairs; see `encodeBatch(_:addSpecialTokens:threads:)`.
    public func encodeBatch(pairs: [(String, String)], addSpecialTokens: Bool = true, threads: Int? = nil) throws -> [Encoding] {
        try encodeBatch(count: pairs.count, threads: threads) { i, scratch in
            try encodeUnpadded(pairs[i].0, pair: pairs[i].1, addSpecialTokens: addSpecialTokens, scratch: scratch)
        }
    }

    private func encodeBatch(
        count: Int, threads: Int?, _ body: @escaping (Int, Scratch) throws -> Encoding
    ) throws -> [Encoding] {
        var results = [Encoding?](repeating: nil, count: count)
        try parallelChunks(count: count, threads: threads) { range in
            let scratch = Scratch()
            var out: [Encoding] = []
            out.reserveCapacity(range.count)
            for i in range { out.append(try body(i, scratch)) }
            return out
        } collect: { range, chunk in
            for (k, i) in range.enumerated() { results[i] = chunk[k] }
        }
        var encodings = results.map { $0! }
        if let padding {
            // HF pads each encoding on its own first, then the batch.
            for i in encodings.indices { Self.padOne(&encodings[i], padding) }
            Self.padBatch(&encodings, padding)
        }
        return encodings
    }

    func encodeUnpadded(_ text: String, pair: String?, addSpecialTokens: Bool, scratch: Scratch) throws -> Encoding {
        let a = sequence(text, typeId: 0, sequenceId: 0, scratch: scratch)
        let b = pair.map { sequence($0, typeId: 1, sequenceId: 1, scratch: scratch) }
        return try postProcess(a, b, addSpecialTokens: addSpecialTokens)
    }

    /// Tokenize one text into an encoding without special tokens.
    func sequence(_ text: String, typeId: Int, sequenceId: Int, scratch: Scratch) -> Encoding {
        var ws = scratch.ws
        defer { scratch.ws = ws }
        var s = text
        s.withUTF8 { buf in
            if let base = buf.baseAddress {
                core.pipeline.run(base, buf.count, into: &ws)
            } else {
                ws.resetTokens()
            }
        }
        let n = ws.ids.count
        var e = Encoding(tokenStrings: core.tokenStrings)
        e.ids = ws.ids.toArray { Int($0) }
        e.typeIds = Array(repeating: typeId, count: n)
        e.attentionMask = Array(repeating: 1, count: n)
        e.specialTokensMask = Array(repeating: 0, count: n)
        let cs = ws.charStart, ce = ws.charEnd, bs = ws.byteStart, be = ws.byteEnd, wd = ws.words
        e.offsets = [Range<Int>](unsafeUninitializedCapacity: n) { buf, c in
            for i in 0..<n { (buf.baseAddress! + i).initialize(to: Int(cs[i])..<Int(ce[i])) }
            c = n
        }
        e.byteOffsets = [Range<Int>](unsafeUninitializedCapacity: n) { buf, c in
            for i in 0..<n { (buf.baseAddress! + i).initialize(to: Int(bs[i])..<Int(be[i])) }
            c = n
        }
        e.wordIds = wd.toArray { Int($0) }
        e.sequenceIds = Array(repeating: sequenceId, count: n)
        return e
    }

    /// HF `post_process`: truncate, apply the template (special tokens, type ids).
    func postProcess(_ a: Encoding, _ b: Encoding?, addSpecialTokens: Bool) throws -> Encoding {
        var a = a
        var b = b
        if let t = truncation {
            let added = addSpecialTokens ? core.template.addedTokens(pair: b != nil) : 0
            if t.maxLength < added {
                throw TokenizerError.maxLengthTooSmall(maxLength: t.maxLength, specialTokens: added)
            }
            try Self.truncate(&a, &b, maxLength: t.maxLength - added, t)
        }
        let pieces = b == nil ? core.template.single : core.template.pair
        if a.overflowing.isEmpty && (b?.overflowing.isEmpty ?? true) {
            var total = a.count + (b?.count ?? 0)
            if addSpecialTokens { total += core.template.addedTokens(pair: b != nil) }
            var out = Encoding(capacity: total, tokenStrings: core.tokenStrings)
            for piece in pieces {
                switch piece {
                case .special(let ids, _, let typeId):
                    if addSpecialTokens { out.append(contentsOf: specialEncoding(ids, typeId)) }
                case .sequenceA(let typeId):
                    appendSequence(&out, a, typeId)
                case .sequenceB(let typeId):
                    if let b { appendSequence(&out, b, typeId) }
                }
            }
            return out
        }
        // Overflowing windows: follow HF literally (fold of merge_with over the template parts).
        var parts: [Encoding] = []
        for piece in pieces {
            switch piece {
            case .special(let ids, _, let typeId):
                if addSpecialTokens { parts.append(specialEncoding(ids, typeId)) }
            case .sequenceA(let typeId):
                var x = a
                x.typeIds = Array(repeating: typeId, count: x.count)
                parts.append(x)
            case .sequenceB(let typeId):
                if var x = b {
                    x.typeIds = Array(repeating: typeId, count: x.count)
                    parts.append(x)
                }
            }
        }
        var out = Encoding(tokenStrings: core.tokenStrings)
        for p in parts { out.merge(with: p) }
        return out
    }

    private func appendSequence(_ out: inout Encoding, _ s: Encoding, _ typeId: Int) {
        out.ids += s.ids
        out.typeIds += repeatElement(typeId, count: s.count)
        out.attentionMask += s.attentionMask
        out.specialTokensMask += s.specialTokensMask
        out.offsets += s.offsets
        out.byteOffsets += s.byteOffsets
        out.wordIds += s.wordIds
        out.sequenceIds += s.sequenceIds
    }

    private func specialEncoding(_ ids: [Int], _ typeId: Int) -> Encoding {
        let n = ids.count
        return Encoding(
            ids: ids, typeIds: Array(repeating: typeId, count: n),
            attentionMask: Array(repeating: 1, count: n), specialTokensMask: Array(repeating: 1, count: n),
            offsets: Array(repeating: 0..<0, count: n), byteOffsets: Array(repeating: 0..<0, count: n),
            wordIds: Array(repeating: nil, count: n), sequenceIds: Array(repeating: nil, count: n),
            tokenStrings: core.tokenStrings)
    }

    /// HF `truncate_encodings` (`maxLength` already excludes the special tokens).
    static func truncate(_ a: inout Encoding, _ b: inout Encoding?, maxLength: Int, _ t: TruncationOptions) throws {
        if maxLength == 0 {
            try a.truncate(maxLength: 0, stride: t.stride, direction: t.direction)
            try b?.truncate(maxLength: 0, stride: t.stride, direction: t.direction)
            return
        }
        let total = a.count + (b?.count ?? 0)
        if total <= maxLength { return }
        let toRemove = total - maxLength
        switch t.strategy {
        case .longestFirst:
            if var pair = b {
                var n1 = a.count
                var n2 = pair.count
                let swap = n1 > n2
                if swap { (n1, n2) = (n2, n1) }
                if n1 > maxLength { n2 = n1 } else { n2 = max(n1, maxLength - n1) }
                if n1 + n2 > maxLength {
                    n1 = maxLength / 2
                    n2 = n1 + maxLength % 2
                }
                if swap { (n1, n2) = (n2, n1) }
                try a.truncate(maxLength: n1, stride: t.stride, direction: t.direction)
                try pair.truncate(maxLength: n2, stride: t.stride, direction: t.direction)
                b = pair
            } else {
                try a.truncate(maxLength: total - toRemove, stride: t.stride, direction: t.direction)
            }
        case .onlyFirst:
            guard a.count > toRemove else {
                throw TokenizerError.sequenceTooShort(length: a.count, toRemove: toRemove)
            }
            try a.truncate(maxLength: a.count - toRemove, stride: t.stride, direction: t.direction)
        case .onlySecond:
            guard var pair = b else { throw TokenizerError.secondSequenceNotProvided }
            guard pair.count > toRemove else {
                throw TokenizerError.sequenceTooShort(length: pair.count, toRemove: toRemove)
            }
            try pair.truncate(maxLength: pair.count - toRemove, stride: t.stride, direction: t.direction)
            b = pair
        }
    }

    static func targetLength(_ base: Int, _ p: PaddingOptions) -> Int {
        var n = base
        if let m = p.padToMultipleOf, m > 0, n % m > 0 { n += m - n % m }
        return n
    }

    /// Padding of one encoding on its own (what HF does inside `encode`).
    static func padOne(_ e: inout Encoding, _ p: PaddingOptions) {
        let base: Int
        switch p.strategy {
        case .fixed(let n): base = n
        case .longest: base = e.count
        }
        e.pad(to: targetLength(base, p), padId: p.padId, padTypeId: p.padTypeId, direction: p.direction)
    }

    /// Pad already-encoded encodings as a batch with these options (HF `pad_encodings`).
    public static func pad(_ encodings: inout [Encoding], _ options: PaddingOptions) {
        padBatch(&encodings, options)
    }

    static func padBatch(_ encodings: inout [Encoding], _ p: PaddingOptions) {
        if encodings.isEmpty { return }
        let base: Int
        switch p.strategy {
        case .fixed(let n): base = n
        case .longest: base = encodings.map(\.count).max() ?? 0
        }
        let length = targetLength(base, p)
        for i in encodings.indices {
            encodings[i].pad(to: length, padId: p.padId, padTypeId: p.padTypeId, direction: p.direction)
        }
    }
}
