import Electra
import ElectraTokenizers
import Foundation

/// One multiple-choice question: a context, its choices (each read as the second text of a
/// pair), and the right one when known.
public struct ChoiceExample: Sendable, Equatable {
    public var context: String
    /// The texts paired with the context, one per choice (the question prefixed when given).
    public var endings: [String]
    public var label: Int?
    public var line: Int
}

/// Multiple-choice files: JSON lines ({"context", "question" (optional), "choices": [...],
/// "label"}) or the SWAG CSV layout (header with sent1, sent2, ending0..N, label; the second
/// text of choice i is sent2 + " " + ending_i, as transformers' run_swag builds it). Every row
/// must have the first row's number of choices (the model reads them as one [B, C, L] batch).
public enum MultipleChoiceFile {
    public static func read(_ url: URL) throws -> [ChoiceExample] {
        let text = try TextFile.read(url)
        let file = url.lastPathComponent
        let rows = url.pathExtension.lowercased() == "csv" ? try swag(text, file: file) : try jsonl(text, file: file)
        guard let first = rows.first else { throw ElectraError("\(file) holds no example") }
        for r in rows {
            guard r.endings.count == first.endings.count else {
                throw ElectraError("\(file):\(r.line): \(r.endings.count) choices, but line \(first.line) has \(first.endings.count); every row needs the same number")
            }
            if let y = r.label, !(0..<r.endings.count).contains(y) {
                throw ElectraError("\(file):\(r.line): label \(y) is outside 0..<\(r.endings.count)")
            }
        }
        guard first.endings.count >= 2 else { throw ElectraError("\(file):\(first.line): a multiple-choice row needs at least 2 choices") }
        return rows
    }

    static func jsonl(_ text: String, file: String) throws -> [ChoiceExample] {
        var out: [ChoiceExample] = []
        for (k, line) in TextFile.lines(text).enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard case .object(let o) = try JSONValue.parse(Data(line.utf8), source: "\(file):\(k + 1)") else {
                throw ElectraError("\(file):\(k + 1): not a JSON object")
            }
            guard let context = o["context"]?.stringValue else { throw ElectraError("\(file):\(k + 1): no \"context\" string") }
            guard let choices = o["choices"]?.arrayValue?.compactMap(\.stringValue), choices.count == o["choices"]?.arrayValue?.count else {
                throw ElectraError("\(file):\(k + 1): \"choices\" must be a list of strings")
            }
            let question = o["question"]?.stringValue
            var label: Int?
            if let l = o["label"] {
                guard let y = l.intValue else { throw ElectraError("\(file):\(k + 1): \"label\" must be an integer") }
                label = y
            }
            out.append(ChoiceExample(context: context, endings: choices.map { c in question.map { $0 + " " + c } ?? c }, label: label, line: k + 1))
        }
        return out
    }

    static func swag(_ text: String, file: String) throws -> [ChoiceExample] {
        let lines = TextFile.lines(text, omittingEmpty: true)
        guard let header = lines.first.map(csvFields) else { throw ElectraError("\(file) is empty") }
        func column(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else { throw ElectraError("\(file): no \(name) column in the header (SWAG layout: sent1, sent2, ending0..N, label)") }
            return i
        }
        let s1 = try column("sent1"), s2 = try column("sent2")
        let endings = header.indices.filter { header[$0].hasPrefix("ending") }.sorted { header[$0] < header[$1] }
        let labelColumn = header.firstIndex(of: "label")
        return try lines.dropFirst().enumerated().map { k, line in
            let f = csvFields(line)
            guard f.count == header.count else { throw ElectraError("\(file):\(k + 2): \(f.count) fields, the header has \(header.count)") }
            var label: Int?
            if let c = labelColumn {
                guard let y = Int(f[c]) else { throw ElectraError("\(file):\(k + 2): label '\(f[c])' is not an integer") }
                label = y
            }
            return ChoiceExample(context: f[s1], endings: endings.map { f[s2] + " " + f[$0] }, label: label, line: k + 2)
        }
    }

    /// A CSV line's fields (double quotes, "" inside quotes).
    static func csvFields<S: StringProtocol>(_ line: S) -> [String] {
        var fields: [String] = [], cur = "", quoted = false
        var it = line.makeIterator()
        while let c = it.next() {
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { cur.append("\"") } else { quoted = false; if n == "," { fields.append(cur); cur = "" } else { cur.append(n) } }
                    } else { quoted = false }
                } else { cur.append(c) }
            } else if c == "\"" { quoted = true } else if c == "," { fields.append(cur); cur = "" } else if c != "\r" { cur.append(c) }
        }
        fields.append(cur)
        return fields
    }
}

/// Encoded multiple-choice examples: each choice as [CLS] context [SEP] ending [SEP]
/// (longest_first truncation to `maxLength`), batched as [B, C, L].
public struct EncodedChoiceSet: Sendable {
    public var ids: [[[Int]]], typeIds: [[[Int]]]
    public var labels: [Int?]
    public var choices: Int
    public var count: Int { ids.count }
    public var tokenCount: Int { ids.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } }

    public init(_ examples: [ChoiceExample], tokenizer: ElectraTokenizer, maxLength: Int) throws {
        let tok = tokenizer.forClassification(maxLength: maxLength)
        ids = []; typeIds = []; labels = []
        choices = examples.first?.endings.count ?? 0
        for ex in examples {
            let encoded = try ex.endings.map { try tok.encode(ex.context, pair: $0) }
            ids.append(encoded.map(\.ids))
            typeIds.append(encoded.map(\.typeIds))
            labels.append(ex.label)
        }
    }

    public func batch(_ indices: ArraySlice<Int>, padId: Int, withLabels: Bool = true) -> ElectraInputs {
        let l = indices.flatMap { ids[$0].map(\.count) }.max() ?? 1, b = indices.count, c = choices
        var input = [Int](repeating: padId, count: b * c * l), types = [Int](repeating: 0, count: b * c * l), mask = [Int](repeating: 0, count: b * c * l)
        for (row, i) in indices.enumerated() {
            for k in 0..<c {
                for (t, id) in ids[i][k].enumerated() {
                    let at = (row * c + k) * l + t
                    input[at] = id
                    types[at] = typeIds[i][k][t]
                    mask[at] = 1
                }
            }
        }
        var x = ElectraInputs(inputIds: IntTensor(shape: [b, c, l], values: input), attentionMask: IntTensor(shape: [b, c, l], values: mask),
                              tokenTypeIds: IntTensor(shape: [b, c, l], values: types))
        if withLabels { x.labels = IntTensor(shape: [b], values: indices.map { labels[$0] ?? 0 }) }
        return x
    }

    /// Per example, the choice probabilities (softmax over the choice logits).
    public func probabilities(_ model: ElectraForMultipleChoice, batchSize: Int, padId: Int,
                              progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> [[Double]] {
        var out: [[Double]] = []
        for start in stride(from: 0, to: count, by: max(batchSize, 1)) {
            defer { progress?(min(start + batchSize, count), count) }
            let idx = Array(start..<min(start + batchSize, count))
            let z = try model(batch(idx[...], padId: padId, withLabels: false)).logits!.scalars
            for row in idx.indices {
                let r = (0..<choices).map { Double(z[row * choices + $0]) }
                let m = r.max()!, e = r.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
                out.append(e.map { $0 / s })
            }
        }
        return out
    }
}

/// Multiple choice on the shared trainer; validation accuracy.
public final class MultipleChoiceTask: TrainingTask {
    public let model: ElectraForMultipleChoice
    public let train: EncodedChoiceSet
    public let validation: EncodedChoiceSet?
    public let padId: Int
    public let extraFiles: [URL]
    public var evalBatchSize = 32
    public var runFingerprint: [String: String]

    public init(model: ElectraForMultipleChoice, train: EncodedChoiceSet, validation: EncodedChoiceSet?, padId: Int,
                extraFiles: [URL] = [], fingerprint: [String: String] = [:]) {
        self.model = model
        self.train = train
        self.validation = validation
        self.padId = padId
        self.extraFiles = extraFiles
        var f = fingerprint
        f["train_examples"] = "\(train.count)"
        f["choices"] = "\(train.choices)"
        runFingerprint = f
    }

    public var models: [TrainedModel] { [TrainedModel(folder: "", model: model, extraFiles: extraFiles)] }
    public var exampleCount: Int { train.count }
    public var plottedMetrics: [String] { ["accuracy"] }

    public func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult {
        let x = train.batch(indices, padId: padId)
        let out = try model.forwardBackward(x, dropout: dropout)
        return StepResult(loss: Double(out.loss!), tokens: x.attentionMask!.values.reduce(0, +))
    }

    public func evaluate() throws -> [String: Double]? {
        guard let validation else { return nil }
        return ["accuracy": MultipleChoiceTask.accuracy(try validation.probabilities(model, batchSize: evalBatchSize, padId: padId), validation.labels)]
    }

    public static func accuracy(_ probabilities: [[Double]], _ labels: [Int?]) -> Double {
        let scored = zip(probabilities, labels).compactMap { p, y in y.map { (p, $0) } }
        guard !scored.isEmpty else { return .nan }
        return Double(scored.filter { p, y in p.indices.max { p[$0] < p[$1] } == y }.count) / Double(scored.count)
    }
}
