import Electra
import ElectraPipelines
import ElectraTokenizers
import ElectraTraining
import Foundation

/// finetune / evaluate / predict for `--task token-classification` (CoNLL files).
enum TokenClassificationCLI {
    static func finetune(_ f: FineTune, options o: TrainerOptions, out: URL, modelDir: URL, tokDir: URL) throws {
        let trainURL = URL(fileURLWithPath: f.train)
        let valURL = f.validation.map { URL(fileURLWithPath: $0) }
        let (tok, tokFiles) = try TokenizerFiles.load(tokDir, hint: "pass --tokenizer DIR")
        let train = try CoNLL.read(trainURL, tagColumn: f.tagColumn)
        let val = try valURL.map { try CoNLL.read($0, tagColumn: f.tagColumn) }
        let names = CoNLL.labels(train)
        guard names.count >= 2 else { throw ElectraError("\(trainURL.lastPathComponent) has only one tag ('\(names[0])'); token classification needs at least 2") }
        var config = try ElectraConfig.load(from: try ModelFolder.configURL(modelDir))
        let maxLength = try checkedMaxLength(f.maxLength ?? 128, config: config)
        config.id2label = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.offset, $0.element) })
        config.label2id = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        if let d = f.dropout { config.hiddenDropoutProb = d; config.attentionProbsDropoutProb = d; config.classifierDropout = d }
        let (m, report) = try ElectraForTokenClassification.load(config: config, weights: try CheckpointWeights.open(modelDir), seed: f.seed)
        for w in report.warnings { FileHandle.standardError.write(Data("note: \(w)\n".utf8)) }
        try f.reinitialize(m)
        let trainSet = try TokenClassificationSet(train, file: trainURL.lastPathComponent, tokenizer: tok, maxLength: maxLength,
                                                  labelIds: config.label2id, labelAllSubwords: f.labelAllSubwords)
        let valSet = try val.map { try TokenClassificationSet($0, file: valURL!.lastPathComponent, tokenizer: tok, maxLength: maxLength, labelIds: config.label2id) }
        if let valSet { reportUnknown(valSet, config.label2id, file: valURL!.lastPathComponent) }
        let job = TokenClassificationTask(model: m, train: trainSet, validation: valSet, padId: tok.padTokenId, extraFiles: tokFiles,
                                          fingerprint: ["train_file": trainURL.lastPathComponent, "max_length": "\(maxLength)",
                                                        "label_all_subwords": "\(f.labelAllSubwords)"])
        let trainer = try Trainer(task: job, options: o, output: out, group: DistributedJob.group)
        if f.overwriteOutput, DistributedJob.group.isRoot { try RunOutput.clearPreviousRun(out, models: [(folder: "", extraFiles: TokenizerFiles.names)]) }
        FileHandle.standardError.write(Data("fine-tuning token classification on \(train.count) sentences (\(trainSet.count) windows, \(trainSet.tokenCount) tokens), \(trainer.totalSteps) steps of \(f.batchSize); tags: \(names.joined(separator: ", "))\n".utf8))
        printRunSummary(try trainer.run(resume: f.resume), out: out)
    }

    static func reportUnknown(_ set: TokenClassificationSet, _ labelIds: [String: Int], file: String) {
        let unknown = set.unknownTags(labelIds)
        if !unknown.isEmpty {
            warn("\(file): tag(s) the model does not know, scored as never predicted: \(unknown.map { "\($0.tag) (line \($0.line))" }.joined(separator: ", "))")
        }
    }

    static func load(_ model: String) throws -> (ElectraForTokenClassification, ElectraTokenizer) {
        try loadFineTuned(ElectraForTokenClassification.self, model, headPrefix: "classifier", task: "token-classification")
    }

    static func evaluate(model: String, data: String, tagColumn: Int?, maxLength: Int?, batchSize: Int, json: Bool) throws {
        let (m, tok) = try load(model)
        let url = URL(fileURLWithPath: data)
        let sentences = try CoNLL.read(url, tagColumn: tagColumn)
        let set = try TokenClassificationSet(sentences, file: url.lastPathComponent, tokenizer: tok,
                                             maxLength: try checkedMaxLength(maxLength, config: m.config), labelIds: m.config.label2id)
        reportUnknown(set, m.config.label2id, file: url.lastPathComponent)
        let r = try EntityMetrics.evaluate(gold: sentences.map(\.tags), predicted: try set.predict(m, batchSize: batchSize, padId: tok.padTokenId, progress: progressLine("windows")))
        if json {
            print(String(decoding: try r.json.serialized(pretty: false), as: UTF8.self))
            return
        }
        print(String(format: "sentences %d, tokens %d; accuracy %.4f; precision %.4f, recall %.4f, F1 %.4f", sentences.count,
                     sentences.reduce(0) { $0 + $1.words.count }, r.accuracy, r.overall.precision, r.overall.recall, r.overall.f1))
        for (t, s) in r.perType.sorted(by: { $0.key < $1.key }) {
            print(String(format: "%@: precision %.4f, recall %.4f, F1 %.4f (%d)", t.padding(toLength: 8, withPad: " ", startingAt: 0), s.precision, s.recall, s.f1, s.number))
        }
    }

    /// A CoNLL file with the predicted tag appended to each token line (conlleval's input).
    static func predictFile(model: String, input: String, output: String, tagColumn: Int?, maxLength: Int?, batchSize: Int) throws {
        try refuseOutputFileOverInputs(output, [(option: "--input", path: input)], model: try ModelArgument.folder(model, option: "--model"))
        let (m, tok) = try load(model)
        let url = URL(fileURLWithPath: input)
        let text = try TextFile.read(url)
        let sentences = try CoNLL.parse(text, file: url.lastPathComponent, tagColumn: tagColumn)
        let set = try TokenClassificationSet(sentences, file: url.lastPathComponent, tokenizer: tok,
                                             maxLength: try checkedMaxLength(maxLength, config: m.config), labelIds: nil)
        let predicted = try set.predict(m, batchSize: batchSize, padId: tok.padTokenId, progress: progressLine("windows"))
        var byLine: [Int: String] = [:]
        for (s, tags) in zip(sentences, predicted) { for (line, t) in zip(s.lines, tags) { byLine[line] = t } }
        var out = ""
        let lines = TextFile.lines(text)
        for (k, line) in lines.enumerated() {
            if k == lines.count - 1 && line.isEmpty { break }  // the file's final newline
            out += (byLine[k + 1].map { line + " " + $0 } ?? String(line)) + "\n"
        }
        try AtomicFile.write(Data(out.utf8), to: URL(fileURLWithPath: output))
        FileHandle.standardError.write(Data("\(sentences.count) sentences tagged -> \(output)\n".utf8))
    }

    /// Entities of one text for a person: label, score, the text and its character span.
    static func table(_ text: String, _ entities: [TokenClassificationPipeline.Entity]) -> String {
        let scalars = Array(text.unicodeScalars)
        let lines = entities.map { e -> String in
            let span = e.end <= scalars.count ? String(String.UnicodeScalarView(scalars[e.start..<e.end])) : e.word
            return String(format: "  %@ %.4f \"%@\" [%d, %d)", e.entity, e.score, span, e.start, e.end)
        }
        return "\(text)\n" + (lines.isEmpty ? "  (no entities)" : lines.joined(separator: "\n"))
    }
}

/// The two lines every finetune ends with: steps, time, last loss, validation; where things went.
func printRunSummary(_ s: Trainer.Summary, out: URL) {
    let metrics = s.metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", ")
    print("done: \(s.steps) steps in \(String(format: "%.1f", s.seconds)) s, last loss \(String(format: "%.4f", s.finalLoss)); validation: \(metrics.isEmpty ? "none" : metrics)")
    print("model: \(out.appendingPathComponent("model.safetensors").path); log: metrics.jsonl; plot: training.svg")
}
