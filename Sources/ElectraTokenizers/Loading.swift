import Foundation

/// Names of the special tokens (as in tokenizer_config.json / special_tokens_map.json).
public struct SpecialTokenNames: Sendable, Hashable {
    public var unk = "[UNK]"
    public var sep = "[SEP]"
    public var pad = "[PAD]"
    public var cls = "[CLS]"
    public var mask = "[MASK]"
    public init() {}
}

extension ElectraTokenizer {
    /// Load from a folder: tokenizer.json when present (its truncation/padding sections are
    /// honoured), else vocab.txt with tokenizer_config.json / special_tokens_map.json.
    public static func load(directory: URL) throws -> ElectraTokenizer {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir) else {
            throw TokenizerError.fileNotFound(path: directory.path)
        }
        if !isDir.boolValue {
            // Accept a file too: tokenizer.json or vocab.txt.
            if directory.pathExtension == "json" { return try load(tokenizerJSON: directory) }
            return try ElectraTokenizer(vocabFile: directory)
        }
        let config = try TokenizerConfig.read(directory: directory)
        let json = directory.appendingPathComponent("tokenizer.json")
        if fm.fileExists(atPath: json.path) {
            // As transformers' ElectraTokenizerFast/BertTokenizerFast (what AutoTokenizer gives
            // for an ELECTRA or BERT folder): tokenizer_config.json's casing settings, defaults
            // included, win over a BertNormalizer's. Other classes (PreTrainedTokenizerFast, a
            // folder without a config naming one) keep tokenizer.json's.
            let casing = config.bertFamilyClass
                ? NormalizerCasing(lowercase: config.doLowerCase, stripAccents: config.stripAccents,
                                   handleChineseChars: config.tokenizeChineseChars)
                : nil
            var tok = try load(tokenizerJSON: json, specialTokens: config.names, casing: casing, configTokens: config.added)
            // transformers cleans decoded text up itself when the config says so (the fast
            // class's default: no), after the decoder's own cleanup.
            tok.cleansUpDecodedText = config.cleanUpTokenizationSpacesSetting == true
            return tok
        }
        let vocab = directory.appendingPathComponent("vocab.txt")
        if fm.fileExists(atPath: vocab.path) {
            return try ElectraTokenizer(
                vocabFile: vocab, lowercase: config.doLowerCase, stripAccents: config.stripAccents,
                tokenizeChineseChars: config.tokenizeChineseChars, specialTokens: config.names,
                // transformers converts vocab.txt with a cleaning WordPiece decoder, whatever
                // clean_up_tokenization_spaces says (the flag only adds a second cleanup).
                cleanUpTokenizationSpaces: true, configTokens: config.added)
        }
        throw TokenizerError.noTokenizerFiles(directory: directory.path)
    }

    /// Build from a WordPiece vocab.txt (one token per line, id = line index), configured like
    /// transformers' BertTokenizerFast: BertNormalizer, BertPreTokenizer, WordPiece with "##",
    /// [CLS] A [SEP] (B [SEP]) and the five special tokens as (non-normalized) added tokens.
    public init(
        vocabFile: URL, lowercase: Bool = true, stripAccents: Bool? = nil,
        tokenizeChineseChars: Bool = true, specialTokens: SpecialTokenNames = SpecialTokenNames(),
        maxInputCharsPerWord: Int = 100, cleanUpTokenizationSpaces: Bool = true
    ) throws {
        try self.init(vocabFile: vocabFile, lowercase: lowercase, stripAccents: stripAccents, tokenizeChineseChars: tokenizeChineseChars,
                      specialTokens: specialTokens, maxInputCharsPerWord: maxInputCharsPerWord,
                      cleanUpTokenizationSpaces: cleanUpTokenizationSpaces, configTokens: nil)
    }

    /// `configTokens`: the added and special tokens of a folder's config files (their flags,
    /// new ids for tokens the vocabulary lacks); without them the five special tokens must be
    /// in the vocabulary.
    init(
        vocabFile: URL, lowercase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool, specialTokens: SpecialTokenNames,
        maxInputCharsPerWord: Int = 100, cleanUpTokenizationSpaces: Bool, configTokens: ConfigAddedTokens?
    ) throws {
        let path = vocabFile.path
        let data = try readFile(vocabFile)
        var tokens: [String] = []
        var firstLine: [String: Int] = [:]
        // Lines end at "\n", "\r\n" or a lone "\r", as Python's text-mode readlines() (what
        // transformers' load_vocab uses) splits them.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        let bytes = [UInt8](data)
        var k = 0
        while k < bytes.count {
            if bytes[k] == 0x0A || bytes[k] == 0x0D {
                lines.append(bytes[start..<k])
                if bytes[k] == 0x0D && k + 1 < bytes.count && bytes[k + 1] == 0x0A { k += 1 }
                start = k + 1
            }
            k += 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        for (i, line) in lines.enumerated() {
            guard let token = String(validating: line, as: UTF8.self) else {
                throw TokenizerError.unreadableFile(path: path, reason: "line \(i + 1) is not valid UTF-8")
            }
            if let first = firstLine[token] {
                throw TokenizerError.duplicateVocabularyEntry(path: path, token: token, firstLine: first, secondLine: i + 1)
            }
            firstLine[token] = i + 1
            tokens.append(token)
        }
        if tokens.isEmpty { throw TokenizerError.emptyVocabulary(path: path) }
        let vocab = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        func vid(_ name: String, _ t: String) throws -> Int {
            guard let v = vocab[t] else { throw TokenizerError.missingSpecialToken(name: name, token: t) }
            return v
        }
        var added: [AddedToken] = []
        if let configTokens {
            configTokens.apply(to: &added, vocab: vocab)
        } else {
            added = try [
                ("unk_token", specialTokens.unk), ("sep_token", specialTokens.sep), ("pad_token", specialTokens.pad),
                ("cls_token", specialTokens.cls), ("mask_token", specialTokens.mask),
            ].map { AddedToken(content: $0.1, id: try vid($0.0, $0.1), special: true) }
        }
        func specialId(_ name: String, _ t: String) throws -> Int { try added.first { $0.content == t }?.id ?? vid(name, t) }
        let template = PostProcessorTemplate.bert(
            cls: (specialTokens.cls, try specialId("cls_token", specialTokens.cls)),
            sep: (specialTokens.sep, try specialId("sep_token", specialTokens.sep)))
        let core = try Self.makeCore(
            path: path, vocab: vocab, unkToken: specialTokens.unk, prefix: "##",
            maxInputCharsPerWord: maxInputCharsPerWord,
            normalizer: NormalizerOptions(
                cleanText: true, handleChineseChars: tokenizeChineseChars, stripAccents: stripAccents,
                lowercase: lowercase),
            preTokenizer: .bert, addedTokens: added, template: template,
            decoder: DecoderOptions(prefix: "##", cleanup: cleanUpTokenizationSpaces))
        try self.init(core: core, truncation: nil, padding: nil, specialTokens: specialTokens.tuple)
    }

    /// Load an HF tokenizer.json (WordPiece model only), as tokenizers' `Tokenizer.from_file`
    /// does; `casing` replaces a top-level BertNormalizer's settings where they differ (what
    /// transformers does with tokenizer_config.json's; `load(directory:)` passes them).
    public static func load(tokenizerJSON url: URL, specialTokens: SpecialTokenNames? = nil,
                            casing: NormalizerCasing? = nil) throws -> ElectraTokenizer {
        try load(tokenizerJSON: url, specialTokens: specialTokens, casing: casing, configTokens: nil)
    }

    /// `configTokens`: a folder's added and special tokens that tokenizer.json lacks.
    static func load(tokenizerJSON url: URL, specialTokens: SpecialTokenNames?, casing: NormalizerCasing?,
                     configTokens: ConfigAddedTokens?) throws -> ElectraTokenizer {
        let path = url.lastPathComponent
        let data = try readFile(url)
        let parsed: Any
        var vocabValue: JSONValue? = nil
        do {
            var root = try JSONParser.parse(Array(data))
            // Take model.vocab out before converting to `Any`: the 30k-entry map is read directly.
            if case .object(var o, let keys) = root, case .object(var m, let mkeys)? = o["model"], let v = m["vocab"] {
                vocabValue = v
                m["vocab"] = .object([:], keys: [])
                o["model"] = .object(m, keys: mkeys)
                root = .object(o, keys: keys)
            }
            parsed = root.any
        } catch {
            throw TokenizerError.malformedJSON(path: path, field: "(root)", reason: "is not valid JSON (\(error))")
        }
        guard let rootDict = parsed as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, field: "(root)", reason: "must be a JSON object")
        }
        let root = JSONObject(rootDict, path: "", file: path)

        // Model.
        let model = try root.requiredObject("model")
        let type: String = try model.required("type")
        guard type == "WordPiece" else { throw TokenizerError.unsupported(path: path, field: "model.type", value: type) }
        guard let vocabValue, !(vocabValue.isNull) else {
            throw TokenizerError.malformedJSON(path: path, field: "model.vocab", reason: "is missing")
        }
        guard case .object(let vocabEntries, _) = vocabValue else {
            throw TokenizerError.malformedJSON(path: path, field: "model.vocab", reason: "must be an object")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(vocabEntries.count)
        // Ids are dense (0..<count) in every real vocabulary: an array finds duplicates without
        // hashing; ids beyond it (legal, rare) go to a dictionary.
        var dense = [String?](repeating: nil, count: vocabEntries.count)
        var sparse: [Int: String] = [:]
        for (token, value) in vocabEntries {
            guard case .number(let d, true) = value, let id = Int(exactly: d), id >= 0 else {
                throw TokenizerError.malformedJSON(path: path, field: "model.vocab[\"\(token)\"]", reason: "must be a non-negative integer id")
            }
            if let other = id < dense.count ? dense[id] : sparse[id] {
                let (a, b) = other < token ? (other, token) : (token, other)
                throw TokenizerError.duplicateVocabularyId(path: path, id: id, first: a, second: b)
            }
            if id < dense.count { dense[id] = token } else { sparse[id] = token }
            vocab[token] = id
        }
        if vocab.isEmpty { throw TokenizerError.emptyVocabulary(path: path + " (model.vocab)") }
        let unk: String = try model.required("unk_token")
        let prefix: String = try model.optional("continuing_subword_prefix") ?? "##"
        let maxChars: Int = try model.optional("max_input_chars_per_word") ?? 100

        // Normalizer.
        var normalizer: NormalizerOptions? = nil
        if let top = try root.optionalObject("normalizer") {
            let n = try singleFromSequence(top, listKey: "normalizers", path: path)
            let nt: String = try n.required("type")
            guard nt == "BertNormalizer" else { throw TokenizerError.unsupported(path: path, field: n.field("type"), value: nt) }
            var options = NormalizerOptions(
                cleanText: try n.optional("clean_text") ?? true,
                handleChineseChars: try n.optional("handle_chinese_chars") ?? true,
                stripAccents: try n.optional("strip_accents"),
                lowercase: try n.optional("lowercase") ?? true)
            // transformers reads these from the top-level normalizer's state only: a Sequence
            // has no "lowercase" there and is left as it is.
            if let casing, (top.dict["type"] as? String) == "BertNormalizer",
               options.lowercase != casing.lowercase || options.stripAccents != casing.stripAccents
                || options.handleChineseChars != casing.handleChineseChars {
                options.lowercase = casing.lowercase
                options.stripAccents = casing.stripAccents
                options.handleChineseChars = casing.handleChineseChars
            }
            normalizer = options
        }

        // Pre-tokenizer.
        var pre: PreTokenizerKind? = nil
        if let p = try root.optionalObject("pre_tokenizer") {
            let p = try singleFromSequence(p, listKey: "pretokenizers", path: path)
            let pt: String = try p.required("type")
            guard let kind = PreTokenizerKind(rawValue: pt) else {
                throw TokenizerError.unsupported(path: path, field: p.field("type"), value: pt)
            }
            pre = kind
        }

        // Added tokens. Ids follow HF's AddedVocabulary: a token already in the vocabulary (or
        // added before) keeps that id; others get max(added id) + 1, or the vocabulary size when
        // no added id reaches it yet. The ids written in the file are not used (HF ignores them too).
        var added: [AddedToken] = []
        var addedIds: [String: Int] = [:]
        if let list: [Any] = try root.optional("added_tokens") {
            for (i, item) in list.enumerated() {
                guard let d = item as? [String: Any] else {
                    throw TokenizerError.malformedJSON(path: path, field: "added_tokens[\(i)]", reason: "must be an object")
                }
                let o = JSONObject(d, path: "added_tokens[\(i)]", file: path)
                let content: String = try o.required("content")
                let _: Int = try o.required("id")
                let special: Bool = try o.optional("special") ?? false
                if content.isEmpty { continue }
                let id: Int
                if let existing = addedIds[content] ?? vocab[content] {
                    id = existing
                } else if let maxAdded = addedIds.values.max() {
                    id = maxAdded >= vocab.count ? maxAdded + 1 : vocab.count
                } else {
                    id = vocab.count
                }
                addedIds[content] = id
                added.removeAll { $0.content == content }
                added.append(AddedToken(
                    content: content, id: id, special: special,
                    singleWord: try o.optional("single_word") ?? false, lstrip: try o.optional("lstrip") ?? false,
                    rstrip: try o.optional("rstrip") ?? false, normalized: try o.optional("normalized") ?? !special))
            }
        }

        configTokens?.apply(to: &added, vocab: vocab)

        // Post-processor.
        var template = PostProcessorTemplate.none
        if let pp = try root.optionalObject("post_processor") {
            let ppt: String = try pp.required("type")
            switch ppt {
            case "BertProcessing":
                template = .bert(cls: try pp.pair("cls"), sep: try pp.pair("sep"))
            case "TemplateProcessing":
                template = try parseTemplate(pp, path: path)
            default:
                throw TokenizerError.unsupported(path: path, field: "post_processor.type", value: ppt)
            }
        }

        // Decoder.
        var decoder: DecoderOptions? = nil
        if let d = try root.optionalObject("decoder") {
            let dt: String = try d.required("type")
            guard dt == "WordPiece" else { throw TokenizerError.unsupported(path: path, field: "decoder.type", value: dt) }
            decoder = DecoderOptions(prefix: try d.optional("prefix") ?? "##", cleanup: try d.optional("cleanup") ?? true)
        }

        // Truncation and padding, honoured like HF.
        var truncation: TruncationOptions? = nil
        if let t = try root.optionalObject("truncation") {
            let strategy: String = try t.optional("strategy") ?? "LongestFirst"
            let s: TruncationStrategy
            switch strategy {
            case "LongestFirst": s = .longestFirst
            case "OnlyFirst": s = .onlyFirst
            case "OnlySecond": s = .onlySecond
            default: throw TokenizerError.malformedJSON(path: path, field: "truncation.strategy", reason: "must be LongestFirst, OnlyFirst or OnlySecond, not \"\(strategy)\"")
            }
            let dir: String = try t.optional("direction") ?? "Right"
            truncation = TruncationOptions(
                maxLength: try t.required("max_length"), strategy: s, stride: try t.optional("stride") ?? 0,
                direction: try direction(dir, field: t.field("direction"), path: path) == "left" ? .left : .right)
        }
        var padding: PaddingOptions? = nil
        if let p = try root.optionalObject("padding") {
            var strategy = PaddingOptions.Strategy.longest
            if let s = p.dict["strategy"] {
                if let str = s as? String, str == "BatchLongest" {
                    strategy = .longest
                } else if let d = s as? [String: Any], let n = d["Fixed"].flatMap(intValue) {
                    // Every encoding is padded to it: a length no model reads would be an allocation.
                    guard (0...1 << 20).contains(n) else {
                        throw TokenizerError.malformedJSON(path: path, field: "padding.strategy.Fixed", reason: "must be a length in 0...1048576, got \(n)")
                    }
                    strategy = .fixed(n)
                } else {
                    throw TokenizerError.malformedJSON(path: path, field: "padding.strategy", reason: "must be \"BatchLongest\" or {\"Fixed\": n}")
                }
            }
            let dir: String = try p.optional("direction") ?? "Right"
            padding = PaddingOptions(
                strategy: strategy,
                direction: try direction(dir, field: p.field("direction"), path: path) == "left" ? .left : .right,
                padToMultipleOf: try p.optional("pad_to_multiple_of").map { (m: Int) throws -> Int in
                    guard (1...1 << 20).contains(m) else {
                        throw TokenizerError.malformedJSON(path: path, field: "padding.pad_to_multiple_of", reason: "must be in 1...1048576, got \(m)")
                    }
                    return m
                }, padId: try p.optional("pad_id") ?? 0,
                padTypeId: try p.optional("pad_type_id") ?? 0, padToken: try p.optional("pad_token") ?? "[PAD]")
        }

        var names = specialTokens ?? SpecialTokenNames()
        names.unk = unk
        if specialTokens == nil, case .special(_, let tokens, _)? = template.single.first, let c = tokens.first {
            names.cls = c
        }
        if specialTokens == nil, case .special(_, let tokens, _)? = template.single.last, let s = tokens.first {
            names.sep = s
        }
        let core = try makeCore(
            path: path, vocab: vocab, unkToken: unk, prefix: prefix, maxInputCharsPerWord: maxChars,
            normalizer: normalizer, preTokenizer: pre, addedTokens: added, template: template, decoder: decoder)
        return try ElectraTokenizer(core: core, truncation: truncation, padding: padding, specialTokens: names.tuple)
    }

    static func makeCore(
        path: String, vocab: [String: Int], unkToken: String, prefix: String, maxInputCharsPerWord: Int,
        normalizer: NormalizerOptions?, preTokenizer: PreTokenizerKind?, addedTokens: [AddedToken],
        template: PostProcessorTemplate, decoder: DecoderOptions?
    ) throws -> TokenizerCore {
        guard let unkId = vocab[unkToken] else {
            throw TokenizerError.missingSpecialToken(name: "unk_token", token: unkToken)
        }
        let maxId = max(vocab.values.max() ?? -1, addedTokens.map(\.id).max() ?? -1)
        // The id table is dense (maxId + 1 entries) and the lookup table stores 32-bit ids and
        // 24-bit offsets: bounds no real vocabulary comes near, checked so that a damaged file
        // is an error instead of an allocation of its largest id.
        guard maxId < 1 << 24 else {
            let token = vocab.first { $0.value == maxId }?.key ?? addedTokens.first { $0.id == maxId }?.content ?? ""
            throw TokenizerError.malformedJSON(path: path, field: "id of \"\(token.prefix(40))\"", reason: "is \(maxId); ids must be below 16,777,216")
        }
        let storedBytes = vocab.keys.reduce(0) { $0 + ($1.utf8.count < 256 ? $1.utf8.count : 0) }
        guard storedBytes < 1 << 24 else {
            throw TokenizerError.unreadableFile(path: path, reason: "the vocabulary's tokens hold \(storedBytes) bytes; at most 16 MiB are supported")
        }
        var strings = [String](repeating: "", count: maxId + 1)
        for (t, id) in vocab { strings[id] = t }
        for t in addedTokens { strings[t.id] = t.content }
        var map = vocab
        for t in addedTokens { map[t.content] = t.id }
        let initial = ByteTable(vocab.map { (Array($0.key.utf8), $0.value) })
        let prefixBytes = Array(prefix.utf8)
        let cont = ByteTable(vocab.compactMap { (token, id) -> ([UInt8], Int)? in
            let b = Array(token.utf8)
            guard !prefixBytes.isEmpty, b.count >= prefixBytes.count, Array(b[..<prefixBytes.count]) == prefixBytes else {
                return prefixBytes.isEmpty ? (b, id) : nil
            }
            return (Array(b[prefixBytes.count...]), id)
        })
        let pipeline = Pipeline(
            normalizer: normalizer, preTokenizer: preTokenizer, vocab: initial, continuation: cont,
            unkId: unkId, maxInputCharsPerWord: maxInputCharsPerWord, addedTokens: addedTokens)
        return TokenizerCore(
            pipeline: pipeline, tokenStrings: TokenStrings(strings), modelVocabSize: vocab.count,
            tokenToIdMap: map, addedTokens: addedTokens, template: template, decoder: decoder,
            continuingSubwordPrefix: prefix)
    }
}

extension SpecialTokenNames {
    var tuple: (unk: String, cls: String, sep: String, pad: String, mask: String) {
        (unk, cls, sep, pad, mask)
    }
}

private func readFile(_ url: URL) throws -> Data {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw TokenizerError.fileNotFound(path: url.path)
    }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
    }
}

private func intValue(_ v: Any) -> Int? {
    if v is String { return nil }
    if let i = v as? Int { return i }
    if let d = v as? Double, let i = Int(exactly: d) { return i }
    if let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) { return i }
    return nil
}

private func direction(_ s: String, field: String, path: String) throws -> String {
    switch s {
    case "Right", "right": return "right"
    case "Left", "left": return "left"
    default: throw TokenizerError.malformedJSON(path: path, field: field, reason: "must be \"Right\" or \"Left\", not \"\(s)\"")
    }
}

/// A `Sequence` normalizer / pre-tokenizer holding exactly one supported element is accepted.
private func singleFromSequence(_ o: JSONObject, listKey: String, path: String) throws -> JSONObject {
    guard (o.dict["type"] as? String) == "Sequence" else { return o }
    let list: [Any] = try o.required(listKey)
    guard list.count == 1, let d = list[0] as? [String: Any] else {
        throw TokenizerError.unsupported(path: path, field: o.field("type"), value: "Sequence of \(list.count) elements")
    }
    return JSONObject(d, path: o.field(listKey) + "[0]", file: path)
}

private func parseTemplate(_ pp: JSONObject, path: String) throws -> PostProcessorTemplate {
    var specials: [String: (ids: [Int], tokens: [String])] = [:]
    if let st = try pp.optionalObject("special_tokens") {
        for (name, value) in st.dict {
            guard let d = value as? [String: Any] else {
                throw TokenizerError.malformedJSON(path: path, field: st.field(name), reason: "must be an object")
            }
            let o = JSONObject(d, path: st.field(name), file: path)
            let ids: [Any] = try o.required("ids")
            let tokens: [Any] = try o.required("tokens")
            guard let intIds = ids.map(intValue) as? [Int], let strs = tokens as? [String], intIds.count == strs.count else {
                throw TokenizerError.malformedJSON(path: path, field: o.field("ids"), reason: "must be integers matching `tokens`")
            }
            specials[name] = (intIds, strs)
        }
    }
    func pieces(_ key: String) throws -> [TemplatePiece] {
        let list: [Any] = try pp.required(key)
        return try list.enumerated().map { i, item in
            let field = pp.field(key) + "[\(i)]"
            guard let d = item as? [String: Any] else {
                throw TokenizerError.malformedJSON(path: path, field: field, reason: "must be an object")
            }
            if let s = d["SpecialToken"] as? [String: Any] {
                let o = JSONObject(s, path: field + ".SpecialToken", file: path)
                let id: String = try o.required("id")
                let typeId: Int = try o.optional("type_id") ?? 0
                guard let sp = specials[id] else {
                    throw TokenizerError.malformedJSON(path: path, field: o.field("id"), reason: "names \"\(id)\" which is missing from post_processor.special_tokens")
                }
                return .special(ids: sp.ids, tokens: sp.tokens, typeId: typeId)
            }
            if let s = d["Sequence"] as? [String: Any] {
                let o = JSONObject(s, path: field + ".Sequence", file: path)
                let id: String = try o.required("id")
                let typeId: Int = try o.optional("type_id") ?? 0
                switch id {
                case "A": return .sequenceA(typeId: typeId)
                case "B": return .sequenceB(typeId: typeId)
                default: throw TokenizerError.malformedJSON(path: path, field: o.field("id"), reason: "must be \"A\" or \"B\"")
                }
            }
            throw TokenizerError.malformedJSON(path: path, field: field, reason: "must hold SpecialToken or Sequence")
        }
    }
    return PostProcessorTemplate(single: try pieces("single"), pair: try pieces("pair"))
}

/// A JSON object with its field path, so errors can name the exact field.
struct JSONObject {
    let dict: [String: Any]
    let path: String
    let file: String

    init(_ dict: [String: Any], path: String, file: String) {
        self.dict = dict
        self.path = path
        self.file = file
    }

    func field(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    private func convert<T>(_ v: Any, _ key: String) throws -> T {
        // Concrete casts first: a generic `as? T` to a dictionary type goes through Foundation
        // bridging on Linux, which took ~0.2 s for a 30k-entry vocabulary.
        if T.self == [String: Any].self {
            if let d = v as? [String: Any] { return unsafeBitCast(d, to: T.self) }
        } else if T.self == [Any].self {
            if let a = v as? [Any] { return unsafeBitCast(a, to: T.self) }
        } else if T.self == String.self {
            if let str = v as? String { return unsafeBitCast(str, to: T.self) }
        } else if T.self == Int.self {
            if let i = intValue(v) { return i as! T }
        } else if T.self == Bool.self {
            if let b = v as? Bool { return b as! T }
        } else if let t = v as? T {
            return t
        }
        let expected: String
        switch T.self {
        case is Int.Type: expected = "an integer"
        case is Bool.Type: expected = "a boolean"
        case is String.Type: expected = "a string"
        case is [Any].Type: expected = "an array"
        default: expected = "an object"
        }
        throw TokenizerError.malformedJSON(path: file, field: field(key), reason: "must be \(expected)")
    }

    func optional<T>(_ key: String) throws -> T? {
        guard let v = dict[key], !(v is NSNull || v is JSONNull) else { return nil }
        return try convert(v, key) as T
    }

    func required<T>(_ key: String) throws -> T {
        guard let v = dict[key], !(v is NSNull || v is JSONNull) else {
            throw TokenizerError.malformedJSON(path: file, field: field(key), reason: "is missing")
        }
        return try convert(v, key) as T
    }

    func optionalObject(_ key: String) throws -> JSONObject? {
        guard let d: [String: Any] = try optional(key) else { return nil }
        return JSONObject(d, path: field(key), file: file)
    }

    func requiredObject(_ key: String) throws -> JSONObject {
        JSONObject(try required(key) as [String: Any], path: field(key), file: file)
    }

    /// `["[CLS]", 101]` as used by BertProcessing.
    func pair(_ key: String) throws -> (String, Int) {
        let list: [Any] = try required(key)
        guard list.count == 2, let s = list[0] as? String, let i = intValue(list[1]) else {
            throw TokenizerError.malformedJSON(path: file, field: field(key), reason: "must be [token, id]")
        }
        return (s, i)
    }
}

/// tokenizer_config.json's do_lower_case, strip_accents and tokenize_chinese_chars (with
/// transformers' defaults: true, null, true).
public struct NormalizerCasing: Sendable, Hashable {
    public var lowercase: Bool
    public var stripAccents: Bool?
    public var handleChineseChars: Bool
    public init(lowercase: Bool = true, stripAccents: Bool? = nil, handleChineseChars: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.handleChineseChars = handleChineseChars
    }
}

/// The parts of tokenizer_config.json + special_tokens_map.json (+ added_tokens.json) this
/// tokenizer uses.
struct TokenizerConfig {
    var names = SpecialTokenNames()
    var doLowerCase = true
    var stripAccents: Bool? = nil
    var tokenizeChineseChars = true
    /// Whether transformers loads the folder with a BERT-family fast tokenizer class, whose
    /// __init__ applies do_lower_case & co. to the normalizer: tokenizer_config.json's
    /// tokenizer_class, else config.json's model_type (AutoTokenizer's choice).
    var bertFamilyClass = false
    static let bertFamily: Set<String> = ["bert", "convbert", "distilbert", "electra", "funnel", "layoutlm", "lxmert", "mobilebert", "squeezebert"]
    /// clean_up_tokenization_spaces as written (nil: absent).
    var cleanUpTokenizationSpacesSetting: Bool?
    var added = ConfigAddedTokens()

    static func read(directory: URL) throws -> TokenizerConfig {
        var c = TokenizerConfig()
        // Special tokens as written (special_tokens_map.json's win), in transformers' order.
        var named: [String: ConfigAddedTokens.Token] = [:]
        var additional: [ConfigAddedTokens.Token] = []
        var tokenizerClass: String?
        let keys = ["unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
        for file in ["tokenizer_config.json", "special_tokens_map.json"] {
            let url = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let data = try readFile(url)
            guard let d = (try? JSONParser.parse(Array(data)).any) as? [String: Any] else {
                throw TokenizerError.malformedJSON(path: file, field: "(root)", reason: "must be a JSON object")
            }
            let o = JSONObject(d, path: "", file: file)
            for key in keys {
                guard let v = d[key], !(v is NSNull || v is JSONNull) else { continue }
                named[key] = try ConfigAddedTokens.token(v, special: true, file: file, field: key)
            }
            if let list = d["additional_special_tokens"], !(list is NSNull || list is JSONNull) {
                guard let items = list as? [Any] else {
                    throw TokenizerError.malformedJSON(path: file, field: "additional_special_tokens", reason: "must be a list")
                }
                additional = try items.enumerated().map {
                    try ConfigAddedTokens.token($1, special: true, file: file, field: "additional_special_tokens[\($0)]")
                }
            }
            if file == "tokenizer_config.json" {
                tokenizerClass = d["tokenizer_class"] as? String
                if let v: Bool = try o.optional("do_lower_case") { c.doLowerCase = v }
                c.stripAccents = try o.optional("strip_accents")
                if let v: Bool = try o.optional("tokenize_chinese_chars") { c.tokenizeChineseChars = v }
                if let v: Bool = try o.optional("clean_up_tokenization_spaces") { c.cleanUpTokenizationSpacesSetting = v }
                if let decoder = try o.optionalObject("added_tokens_decoder") {
                    for (key, value) in decoder.dict {
                        guard let id = Int(key), id >= 0 else {
                            throw TokenizerError.malformedJSON(path: file, field: decoder.field(key), reason: "must be keyed by a token id")
                        }
                        c.added.byId.append((id, try ConfigAddedTokens.token(value, special: false, file: file, field: decoder.field(key))))
                    }
                }
            }
        }
        // added_tokens.json (what older transformers saved): {token: id}, normalized, not special.
        let legacy = directory.appendingPathComponent("added_tokens.json")
        if FileManager.default.fileExists(atPath: legacy.path) {
            guard let d = (try? JSONParser.parse(Array(try readFile(legacy))).any) as? [String: Any] else {
                throw TokenizerError.malformedJSON(path: "added_tokens.json", field: "(root)", reason: "must be a JSON object")
            }
            for (content, value) in d {
                guard let id = intValue(value), id >= 0 else {
                    throw TokenizerError.malformedJSON(path: "added_tokens.json", field: content, reason: "must be a token id")
                }
                if c.added.byId.contains(where: { $0.id == id || $0.token.content == content }) { continue }
                c.added.byId.append((id, ConfigAddedTokens.Token(content: content, special: false, normalized: true)))
            }
        }
        if let cls = tokenizerClass {
            var base = cls.lowercased()
            if base.hasSuffix("fast") { base.removeLast(4) }
            if base.hasSuffix("tokenizer") { base.removeLast("tokenizer".count) }
            c.bertFamilyClass = bertFamily.contains(base)
        } else {
            let modelConfig = directory.appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: modelConfig.path),
               let d = (try? JSONParser.parse(Array(try readFile(modelConfig))).any) as? [String: Any],
               let type = d["model_type"] as? String {
                c.bertFamilyClass = bertFamily.contains(type.lowercased())
            }
        }
        if let t = named["unk_token"] { c.names.unk = t.content }
        if let t = named["sep_token"] { c.names.sep = t.content }
        if let t = named["pad_token"] { c.names.pad = t.content }
        if let t = named["cls_token"] { c.names.cls = t.content }
        if let t = named["mask_token"] { c.names.mask = t.content }
        // transformers' all_special_tokens order: unk, sep, pad, cls, mask, then the additional ones.
        let defaults = [c.names.unk, c.names.sep, c.names.pad, c.names.cls, c.names.mask]
        c.added.special = zip(keys, defaults).map { key, content in
            named[key] ?? ConfigAddedTokens.Token(content: content, special: true, normalized: false)
        } + additional
        return c
    }
}
