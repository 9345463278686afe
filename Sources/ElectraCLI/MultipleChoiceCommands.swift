import Electra
import ElectraTokenizers
import ElectraTraining
import Foundation

/// finetune / evaluate / predict for `--task multiple-choice` (JSON lines or SWAG CSV).
enum MultipleChoiceCLI {
    static func finetune(_ f: FineTune, options o: TrainerOptions, out: URL, modelDir: URL, tokDir: URL) throws {
        let trainURL = URL(fileURLWithPath: f.train)
        let valURL = f.validation.map { URL(fileURLWithPath: $0) }
        let (tok, tokFiles) = try TokenizerFiles.load(tokDir, hint: "pass --tokenizer DIR")
        let train = try MultipleChoiceFile.read(trainURL)
        if let bad = train.first(where: { $0.label == nil }) { throw ElectraError("\(trainURL.lastPathComponent):\(bad.line): training needs a label") }
        let val = try valURL.map { try MultipleChoiceFile.read($0) }
        var config = try ElectraConfig.load(from: try ModelFolder.configURL(modelDir))
        let length = try checkedMaxLength(f.maxLength ?? 128, config: config)
        if let d = f.dropout { config.hiddenDropoutProb = d; config.attentionProbsDropoutProb = d; config.summaryLastDropout = d }
        let (m, report) = try ElectraForMultipleChoice.load(config: config, weights: try CheckpointWeights.open(modelDir), seed: f.seed)
        for w in report.warnings { FileHandle.standardError.write(Data("note: \(w)\n".utf8)) }
        try f.reinitialize(m)
        let trainSet = try EncodedChoiceSet(train, tokenizer: tok, maxLength: length)
        let valSet = try val.map { try EncodedChoiceSet($0, tokenizer: tok, maxLength: length) }
        if let v = valSet, v.choices != trainSet.choices {
            throw ElectraError("\(valURL!.lastPathComponent) has \(v.choices) choices per row, \(trainURL.lastPathComponent) \(trainSet.choices)")
        }
        let job = MultipleChoiceTask(model: m, train: trainSet, validation: valSet, padId: tok.padTokenId, extraFiles: tokFiles,
                                     fingerprint: ["train_file": trainURL.lastPathComponent, "max_length": "\(length)"])
        let trainer = try Trainer(task: job, options: o, output: out, group: DistributedJob.group)
        if f.overwriteOutput, DistributedJob.group.isRoot { try RunOutput.clearPreviousRun(out, models: [(folder: "", extraFiles: TokenizerFiles.names)]) }
        FileHandle.standardError.write(Data("fine-tuning multiple choice on \(train.count) questions of \(trainSet.choices) choices, \(trainer.totalSteps) steps of \(f.batchSize)\n".utf8))
        printRunSummary(try trainer.run(resume: f.resume), out: out)
    }

    static func load(_ model: String) throws -> (ElectraForMultipleChoice, ElectraTokenizer) {
        try loadFineTuned(ElectraForMultipleChoice.self, model, headPrefix: "classifier", task: "multiple-choice")
    }

    static func run(model: String, file: String, maxLength: Int?, batchSize: Int) throws -> ([ChoiceExample], [[Double]]) {
        let (m, tok) = try load(model)
        let rows = try MultipleChoiceFile.read(URL(fileURLWithPath: file))
        let set = try EncodedChoiceSet(rows, tokenizer: tok, maxLength: try checkedMaxLength(maxLength, config: m.config))
        return (rows, try set.probabilities(m, batchSize: batchSize, padId: tok.padTokenId, progress: progressLine("questions")))
    }

    static func evaluate(model: String, data: String, maxLength: Int?, batchSize: Int) throws {
        let (rows, p) = try run(model: model, file: data, maxLength: maxLength, batchSize: batchSize)
        guard rows.contains(where: { $0.label != nil }) else { throw ElectraError("\(data) has no labels to evaluate against") }
        let acc = MultipleChoiceTask.accuracy(p, rows.map(\.label))
        let obj = JSONValue.object(["accuracy": .number(acc), "examples": .number(Double(rows.filter { $0.label != nil }.count))])
        print(String(decoding: try obj.serialized(pretty: false), as: UTF8.self))
    }

    /// One JSON line per row, on standard output or into `output` (written whole).
    static func predict(model: String, file: String, output: String?, maxLength: Int?, batchSize: Int) throws {
        if let output { try refuseOutputFileOverInputs(output, [(option: "--file", path: file)], model: try ModelArgument.folder(model, option: "--model")) }
        let (rows, p) = try run(model: model, file: file, maxLength: maxLength, batchSize: batchSize)
        var lines = Data()
        for (row, probs) in zip(rows, p) {
            let best = probs.indices.max { probs[$0] < probs[$1] }!
            let obj = JSONValue.object(["line": .number(Double(row.line)), "choice": .number(Double(best)), "probabilities": .array(probs.map { .number($0) })])
            lines += try obj.serialized(pretty: false) + Data("\n".utf8)
        }
        if let output { try AtomicFile.write(lines, to: URL(fileURLWithPath: output)) } else { FileHandle.standardOutput.write(lines) }
    }
}
