import ElectraKernels
import Foundation

public enum PositionEmbeddingType: String, Sendable, CaseIterable {
    case absolute
    case relativeKey = "relative_key"
    case relativeKeyQuery = "relative_key_query"
}

/// HF SequenceSummary's summary_type (ElectraForMultipleChoice). "attn" is not implemented
/// by HF either; cls_index without indices takes the last token, as HF does.
public enum SummaryType: String, Sendable, CaseIterable {
    case first, last, mean
    case clsIndex = "cls_index"

    public var kernelMode: SequencePick {
        switch self {
        case .first: .first
        case .mean: .mean
        case .last, .clsIndex: .last
        }
    }
}

public enum ProblemType: String, Sendable, CaseIterable {
    case regression
    case singleLabel = "single_label_classification"
    case multiLabel = "multi_label_classification"
}

/// HF `ElectraConfig` (transformers 4.57), same field names in config.json and same defaults.
/// Unknown fields are kept in `extra` and written back on save.
public struct ElectraConfig: Sendable, Equatable {
    public var vocabSize = 30522
    public var embeddingSize = 128
    public var hiddenSize = 256
    public var numHiddenLayers = 12
    public var numAttentionHeads = 4
    public var intermediateSize = 1024
    public var hiddenAct: Activation = .gelu
    public var hiddenActName = "gelu"
    public var hiddenDropoutProb: Float = 0.1
    public var attentionProbsDropoutProb: Float = 0.1
    public var maxPositionEmbeddings = 512
    public var typeVocabSize = 2
    public var initializerRange: Float = 0.02
    public var layerNormEps: Float = 1e-12
    public var summaryType: SummaryType = .first
    public var summaryUseProj = true
    public var summaryActivation: String? = "gelu"
    public var summaryLastDropout: Float = 0.1
    /// Not an ElectraConfig field, but SequenceSummary reads it when present.
    public var summaryFirstDropout: Float?
    public var summaryProjToLabels = false
    public var padTokenId: Int? = 0
    public var positionEmbeddingType: PositionEmbeddingType = .absolute
    public var useCache = true
    public var classifierDropout: Float?
    public var id2label: [Int: String] = [0: "LABEL_0", 1: "LABEL_1"]
    public var label2id: [String: Int] = ["LABEL_0": 0, "LABEL_1": 1]
    public var problemType: ProblemType?
    public var architectures: [String]?
    public var tieWordEmbeddings = true
    /// Fields we do not interpret, kept verbatim.
    public var extra: [String: JSONValue] = [:]
    /// Non-fatal remarks made while decoding (e.g. num_labels disagreeing with id2label).
    public var warnings: [String] = []

    public init() {}

    public var numLabels: Int { id2label.count }
    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// HF: classifier_dropout falls back to hidden_dropout_prob.
    public var effectiveClassifierDropout: Float { classifierDropout ?? hiddenDropoutProb }

    /// Sets `num_labels` the way HF does: LABEL_i names, label2id rebuilt.
    public mutating func setNumLabels(_ n: Int) {
        id2label = Dictionary(uniqueKeysWithValues: (0..<n).map { ($0, "LABEL_\($0)") })
        label2id = Dictionary(uniqueKeysWithValues: id2label.map { ($1, $0) })
    }

    public static func load(from url: URL) throws -> ElectraConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ElectraError("cannot read config \(url.path): \(error.localizedDescription)")
        }
        return try decode(data, source: url.lastPathComponent)
    }

    public static func decode(_ data: Data, source: String = "config.json") throws -> ElectraConfig {
        guard case .object(var o) = try JSONValue.parse(data, source: source) else {
            throw ElectraError("\(source): expected a JSON object at the top level")
        }
        var c = ElectraConfig()
        var f = FieldReader(source: source, object: o)
        c.vocabSize = try f.int("vocab_size") ?? c.vocabSize
        c.embeddingSize = try f.int("embedding_size") ?? c.embeddingSize
        c.hiddenSize = try f.int("hidden_size") ?? c.hiddenSize
        c.numHiddenLayers = try f.int("num_hidden_layers") ?? c.numHiddenLayers
        c.numAttentionHeads = try f.int("num_attention_heads") ?? c.numAttentionHeads
        c.intermediateSize = try f.int("intermediate_size") ?? c.intermediateSize
        if let act = try f.string("hidden_act") {
            guard let a = Activation(hfName: act) else {
                throw ElectraError("\(source): field 'hidden_act' is \"\(act)\", which is not supported (supported: \(Activation.supportedNames.joined(separator: ", ")))")
            }
            c.hiddenAct = a
            c.hiddenActName = act
        }
        c.hiddenDropoutProb = try f.float("hidden_dropout_prob") ?? c.hiddenDropoutProb
        c.attentionProbsDropoutProb = try f.float("attention_probs_dropout_prob") ?? c.attentionProbsDropoutProb
        c.maxPositionEmbeddings = try f.int("max_position_embeddings") ?? c.maxPositionEmbeddings
        c.typeVocabSize = try f.int("type_vocab_size") ?? c.typeVocabSize
        c.initializerRange = try f.float("initializer_range") ?? c.initializerRange
        c.layerNormEps = try f.float("layer_norm_eps") ?? c.layerNormEps
        if let t = try f.string("summary_type") {
            guard let type = SummaryType(rawValue: t) else {
                throw ElectraError("\(source): field 'summary_type' is \"\(t)\"; supported: first, last, mean, cls_index (HF does not implement attn)")
            }
            c.summaryType = type
        }
        c.summaryUseProj = try f.bool("summary_use_proj") ?? c.summaryUseProj
        if f.isPresent("summary_activation") { c.summaryActivation = try f.string("summary_activation") }
        c.summaryLastDropout = try f.float("summary_last_dropout") ?? c.summaryLastDropout
        c.summaryFirstDropout = try f.float("summary_first_dropout")
        c.summaryProjToLabels = try f.bool("summary_proj_to_labels") ?? false
        if f.isPresent("pad_token_id") { c.padTokenId = try f.int("pad_token_id") }
        if let p = try f.string("position_embedding_type") {
            guard let t = PositionEmbeddingType(rawValue: p) else {
                throw ElectraError("\(source): field 'position_embedding_type' is \"\(p)\"; expected one of absolute, relative_key, relative_key_query")
            }
            c.positionEmbeddingType = t
        }
        c.useCache = try f.bool("use_cache") ?? c.useCache
        c.classifierDropout = try f.float("classifier_dropout")
        c.tieWordEmbeddings = try f.bool("tie_word_embeddings") ?? true
        if let p = try f.string("problem_type") {
            guard let t = ProblemType(rawValue: p) else {
                throw ElectraError("\(source): field 'problem_type' is \"\(p)\"; expected regression, single_label_classification or multi_label_classification")
            }
            c.problemType = t
        }
        if let arr = f.take("architectures"), !arr.isNull {
            guard let a = arr.arrayValue, let names = Optional(a.compactMap(\.stringValue)), names.count == a.count else {
                throw ElectraError("\(source): field 'architectures' must be a list of strings")
            }
            c.architectures = names
        }
        // Labels: id2label wins over num_labels, as in HF's PretrainedConfig.
        let numLabels = try f.int("num_labels")
        if let raw = f.take("id2label"), !raw.isNull {
            guard let obj = raw.objectValue else { throw ElectraError("\(source): field 'id2label' must be an object") }
            var m: [Int: String] = [:]
            for (k, v) in obj {
                guard let i = Int(k), i >= 0, let s = v.stringValue else {
                    throw ElectraError("\(source): field 'id2label' must map integer ids to strings (bad entry \"\(k)\")")
                }
                m[i] = s
            }
            guard Set(m.keys) == Set(0..<m.count) else {
                throw ElectraError("\(source): field 'id2label' ids must be 0..<\(m.count)")
            }
            c.id2label = m
            if let n = numLabels, n != m.count {
                c.warnings.append("\(source): num_labels=\(n) disagrees with id2label (\(m.count) labels); using id2label")
            }
        } else if let n = numLabels {
            guard n >= 1 else { throw ElectraError("\(source): field 'num_labels' must be >= 1, got \(n)") }
            guard n <= 1 << 20 else { throw ElectraError("\(source): field 'num_labels' is \(n); more than 1,048,576 labels is refused as a damaged config") }
            c.setNumLabels(n)
        }
        var reverse: [String: Int] = [:]
        for (i, name) in c.id2label.sorted(by: { $0.key < $1.key }) where reverse[name] == nil { reverse[name] = i }
        c.label2id = reverse
        if let raw = f.take("label2id"), let obj = raw.objectValue {
            var m: [String: Int] = [:]
            for (k, v) in obj {
                guard let i = v.intValue else { throw ElectraError("\(source): field 'label2id' must map strings to integers (bad entry \"\(k)\")") }
                m[k] = i
            }
            if m.count == c.id2label.count { c.label2id = m }
        }
        o = f.remaining
        o.removeValue(forKey: "model_type")
        // A decoder (causal attention, ElectraForCausalLM) or cross-attention layers change
        // every output in transformers; run as an encoder, the outputs would differ silently.
        for key in ["is_decoder", "add_cross_attention"] where o[key]?.boolValue == true {
            throw ElectraError("\(source): field '\(key)' is true: decoder models (causal attention, cross-attention) are not supported; this package runs ELECTRA encoders")
        }
        c.extra = o
        try c.validate(source: source)
        return c
    }

    /// Checks relations between fields; throws naming the field.
    public func validate(source: String = "config.json") throws {
        func positive(_ v: Int, _ name: String) throws {
            if v <= 0 { throw ElectraError("\(source): field '\(name)' must be positive, got \(v)") }
        }
        try positive(vocabSize, "vocab_size")
        try positive(embeddingSize, "embedding_size")
        try positive(hiddenSize, "hidden_size")
        try positive(numHiddenLayers, "num_hidden_layers")
        try positive(numAttentionHeads, "num_attention_heads")
        try positive(intermediateSize, "intermediate_size")
        try positive(maxPositionEmbeddings, "max_position_embeddings")
        try positive(typeVocabSize, "type_vocab_size")
        if hiddenSize % numAttentionHeads != 0 {
            throw ElectraError("\(source): hidden_size (\(hiddenSize)) is not a multiple of num_attention_heads (\(numAttentionHeads))")
        }
        for (name, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb), ("summary_last_dropout", summaryLastDropout)] {
            if !(p >= 0 && p < 1) { throw ElectraError("\(source): field '\(name)' must be in [0, 1), got \(p)") }
        }
        if let p = classifierDropout, !(p >= 0 && p < 1) {
            throw ElectraError("\(source): field 'classifier_dropout' must be in [0, 1), got \(p)")
        }
        if !(layerNormEps > 0) { throw ElectraError("\(source): field 'layer_norm_eps' must be positive") }
        if let a = summaryActivation, Activation(hfName: a) == nil {
            throw ElectraError("\(source): field 'summary_activation' is \"\(a)\", which is not supported")
        }
        if let p = padTokenId, p < 0 || p >= vocabSize {
            throw ElectraError("\(source): field 'pad_token_id' (\(p)) is outside the vocabulary (vocab_size \(vocabSize))")
        }
        // Weights a checkpoint lacks are allocated before they are reported, so a size no model
        // has (a typo, a damaged file) would be an allocation of that size: refused. ELECTRA-large
        // has 335M parameters; the bound is 2^36 (256 GiB of fp32).
        let sizes: [(String, Int)] = [("vocab_size", vocabSize), ("embedding_size", embeddingSize), ("hidden_size", hiddenSize),
                                      ("num_hidden_layers", numHiddenLayers), ("intermediate_size", intermediateSize),
                                      ("max_position_embeddings", maxPositionEmbeddings), ("type_vocab_size", typeVocabSize)]
        for (name, v) in sizes where v > 1 << 30 {
            throw ElectraError("\(source): field '\(name)' is \(v); no model is that large")
        }
        let h = Double(hiddenSize), e = Double(embeddingSize)
        let parameters = Double(vocabSize + maxPositionEmbeddings + typeVocabSize) * e + e * h
            + Double(numHiddenLayers) * (4 * h * h + 2 * h * Double(intermediateSize))
            + Double(numLabels) * h + Double(vocabSize) * e
        if parameters > Double(1 << 36) {
            throw ElectraError(String(format: "%@: these sizes make a model of %.3g parameters (num_hidden_layers %d, hidden_size %d, vocab_size %d, num_labels %d); more than 2^36 is refused as a damaged config", source, parameters, numHiddenLayers, hiddenSize, vocabSize, numLabels))
        }
    }

    /// config.json text, HF field names, unknown fields preserved.
    public func jsonValue() -> JSONValue {
        var o = extra
        func n(_ v: Int) -> JSONValue { .number(Double(v)) }
        func fl(_ v: Float) -> JSONValue { .number(Double("\(v)") ?? Double(v)) }
        o["model_type"] = .string("electra")
        o["vocab_size"] = n(vocabSize)
        o["embedding_size"] = n(embeddingSize)
        o["hidden_size"] = n(hiddenSize)
        o["num_hidden_layers"] = n(numHiddenLayers)
        o["num_attention_heads"] = n(numAttentionHeads)
        o["intermediate_size"] = n(intermediateSize)
        o["hidden_act"] = .string(hiddenActName)
        o["hidden_dropout_prob"] = fl(hiddenDropoutProb)
        o["attention_probs_dropout_prob"] = fl(attentionProbsDropoutProb)
        o["max_position_embeddings"] = n(maxPositionEmbeddings)
        o["type_vocab_size"] = n(typeVocabSize)
        o["initializer_range"] = fl(initializerRange)
        o["layer_norm_eps"] = fl(layerNormEps)
        o["summary_type"] = .string(summaryType.rawValue)
        o["summary_use_proj"] = .bool(summaryUseProj)
        o["summary_activation"] = summaryActivation.map(JSONValue.string) ?? .null
        o["summary_last_dropout"] = fl(summaryLastDropout)
        if let d = summaryFirstDropout { o["summary_first_dropout"] = fl(d) }
        if summaryProjToLabels { o["summary_proj_to_labels"] = .bool(true) }
        o["pad_token_id"] = padTokenId.map(n) ?? .null
        o["position_embedding_type"] = .string(positionEmbeddingType.rawValue)
        o["use_cache"] = .bool(useCache)
        o["classifier_dropout"] = classifierDropout.map(fl) ?? .null
        if !tieWordEmbeddings { o["tie_word_embeddings"] = .bool(false) }
        if let p = problemType { o["problem_type"] = .string(p.rawValue) }
        if let a = architectures { o["architectures"] = .array(a.map(JSONValue.string)) }
        o["id2label"] = .object(Dictionary(uniqueKeysWithValues: id2label.map { ("\($0)", .string($1)) }))
        o["label2id"] = .object(label2id.mapValues { n($0) })
        return .object(o)
    }

    public func save(to url: URL) throws {
        try AtomicFile.write(try jsonValue().serialized(), to: url)
    }
}

/// Typed access to config fields; consumed fields are removed so the rest becomes `extra`.
struct FieldReader {
    let source: String
    var remaining: [String: JSONValue]
    init(source: String, object: [String: JSONValue]) { self.source = source; remaining = object }

    func isPresent(_ key: String) -> Bool { remaining[key] != nil }
    mutating func take(_ key: String) -> JSONValue? { remaining.removeValue(forKey: key) }

    mutating func int(_ key: String) throws -> Int? {
        guard let v = take(key), !v.isNull else { return nil }
        guard let i = v.intValue else { throw ElectraError("\(source): field '\(key)' must be an integer, got \(v.debugText)") }
        return i
    }
    mutating func float(_ key: String) throws -> Float? {
        guard let v = take(key), !v.isNull else { return nil }
        guard let d = v.doubleValue else { throw ElectraError("\(source): field '\(key)' must be a number, got \(v.debugText)") }
        return Float(d)
    }
    mutating func string(_ key: String) throws -> String? {
        guard let v = take(key), !v.isNull else { return nil }
        guard let s = v.stringValue else { throw ElectraError("\(source): field '\(key)' must be a string, got \(v.debugText)") }
        return s
    }
    mutating func bool(_ key: String) throws -> Bool? {
        guard let v = take(key), !v.isNull else { return nil }
        guard let b = v.boolValue else { throw ElectraError("\(source): field '\(key)' must be true or false, got \(v.debugText)") }
        return b
    }
}

extension JSONValue {
    var debugText: String {
        if let d = try? serialized(pretty: false), let s = String(data: d, encoding: .utf8) { return s }
        return "\(self)"
    }
}
