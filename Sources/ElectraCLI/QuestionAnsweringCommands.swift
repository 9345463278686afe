import Electra
import ElectraTokenizers
import ElectraTraining
import Foundation

/// finetune / evaluate / predict for `--task question-answering` (SQuAD JSON).
enum QuestionAnsweringCLI {
    /// --doc-stride and --max-answer-length, checked the same way for finetune, evaluate and predict.
    static func checkedWindowing(docStride: Int, maxAnswerLength: Int) throws -> (docStride: Int, maxAnswerLength: Int) {
        guard docStride >= 0 else { throw ElectraError("--doc-stride must not be negative, got \(docStride)") }
        guard maxAnswerLength > 0 else { throw ElectraError("--max-answer-length must be positive, got \(maxAnswerLength)") }
        return (docStride, maxAnswerLength)
    }

    static func read(_ path: String) throws -> SquadFile.Loaded {
        let loaded = try SquadFile.read(URL(fileURLWithPath: path))
        if !loaded.mismatched.isEmpty {
            warn("\(URL(fileURLWithPath: path).lastPathComponent): \(loaded.mismatched.count) answer(s) do not match the context at answer_start and were left out: \(loaded.mismatched.prefix(3).joined(separator: "; "))")
        }
        return loaded
    }

    static func finetune(_ f: FineTune, options o: TrainerOptions, out: URL, modelDir: URL, tokDir: URL) throws {
        let (tok, tokFiles) = try TokenizerFiles.load(tokDir, hint: "pass --tokenizer DIR")
        var config = try ElectraConfig.load(from: try ModelFolder.configURL(modelDir))
        let length = try checkedMaxLength(f.maxLength ?? min(384, config.maxPositionEmbeddings), config: config)
        let (docStride, maxAnswerLength) = try checkedWindowing(docStride: f.docStride ?? 128, maxAnswerLength: f.maxAnswerLength ?? 30)
        let train = try read(f.train).questions
        let version2 = f.version2WithNegative || train.contains { $0.isImpossible }
        if !version2, let q = train.first(where: { $0.answers.isEmpty }) {
            throw ElectraError("\(f.train): question \(q.id) has no answer; pass --version-2-with-negative to train on unanswerable questions")
        }
        let val = try f.validation.map { try read($0).questions }
        config.extra["version_2_with_negative"] = .bool(version2)
        if let d = f.dropout { config.hiddenDropoutProb = d; config.attentionProbsDropoutProb = d }
        let (m, report) = try ElectraForQuestionAnswering.load(config: config, weights: try CheckpointWeights.open(modelDir), seed: f.seed)
        for w in report.warnings { FileHandle.standardError.write(Data("note: \(w)\n".utf8)) }
        try f.reinitialize(m)
        let trainSet = try SquadFeatures(train, tokenizer: tok, maxLength: length, docStride: docStride)
        let valSet = try val.map { try SquadFeatures($0, tokenizer: tok, maxLength: length, docStride: docStride) }
        let job = QuestionAnsweringTask(model: m, train: trainSet, validation: valSet, padId: tok.padTokenId, version2: version2, extraFiles: tokFiles,
                                        fingerprint: ["train_file": URL(fileURLWithPath: f.train).lastPathComponent, "max_length": "\(length)", "doc_stride": "\(docStride)"])
        job.maxAnswerLength = maxAnswerLength
        let trainer = try Trainer(task: job, options: o, output: out, group: DistributedJob.group)
        if f.overwriteOutput, DistributedJob.group.isRoot { try RunOutput.clearPreviousRun(out, models: [(folder: "", extraFiles: TokenizerFiles.names)]) }
        FileHandle.standardError.write(Data("fine-tuning question answering (SQuAD \(version2 ? "2.0" : "1.1")) on \(train.count) questions, \(trainSet.count) windows of \(length) tokens, \(trainer.totalSteps) steps of \(f.batchSize)\n".utf8))
        printRunSummary(try trainer.run(resume: f.resume), out: out)
    }

    struct Settings {
        var maxLength: Int?
        var docStride: Int
        var maxAnswerLength: Int
        var batchSize: Int
        var version2: Bool?
        var nullThreshold: Double
    }

    static func load(_ model: String) throws -> (ElectraForQuestionAnswering, ElectraTokenizer) {
        try loadFineTuned(ElectraForQuestionAnswering.self, model, headPrefix: "qa_outputs", task: "question-answering")
    }

    static func answer(_ model: String, _ questions: [SquadQuestion], _ s: Settings) throws -> (answers: [String: String], odds: [String: Double], version2: Bool) {
        let (m, tok) = try load(model)
        let version2 = s.version2 ?? (m.config.extra["version_2_with_negative"]?.boolValue ?? false)
        let length = try checkedMaxLength(s.maxLength ?? min(384, m.config.maxPositionEmbeddings), config: m.config)
        let features = try SquadFeatures(questions, tokenizer: tok, maxLength: length, docStride: s.docStride)
        let p = try features.predictions(m, batchSize: s.batchSize, padId: tok.padTokenId, maxAnswerLength: s.maxAnswerLength,
                                         version2: version2, nullThreshold: s.nullThreshold, progress: progressLine("windows"))
        return (p.answers, p.nullOdds, version2)
    }

    static func evaluate(model: String, data: String, _ s: Settings) throws {
        let questions = try read(data).questions
        let (answers, _, version2) = try answer(model, questions, s)
        let metrics = SquadMetrics.evaluate(questions.map { SquadMetrics.Question(id: $0.id, answers: $0.answers.map(\.text)) },
                                            predictions: answers, version2: version2)
        print(String(decoding: try JSONValue.object(metrics.mapValues { .number($0) }).serialized(pretty: false), as: UTF8.self))
    }

    static func predict(model: String, input: String?, output: String?, nullOdds: String?, _ s: Settings) throws {
        guard let input, let output else { throw ElectraError("--task question-answering predicts --input dev.json --output predictions.json, or --question Q --context C") }
        let modelDir = try ModelArgument.folder(model, option: "--model")
        try refuseOutputFileOverInputs(output, [(option: "--input", path: input)], model: modelDir)
        if let nullOdds {
            guard URL(fileURLWithPath: output).resolvedPathComponents != URL(fileURLWithPath: nullOdds).resolvedPathComponents else {
                throw ElectraError("--null-odds and --output name the same file \(output); give two files")
            }
            try refuseOutputFileOverInputs(nullOdds, option: "--null-odds", [(option: "--input", path: input)], model: modelDir)
        }
        let (answers, odds, _) = try answer(model, try read(input).questions, s)
        try AtomicFile.write(try JSONValue.object(answers.mapValues { .string($0) }).serialized(pretty: true), to: URL(fileURLWithPath: output))
        if let nullOdds { try AtomicFile.write(try JSONValue.object(odds.mapValues { .number($0) }).serialized(pretty: true), to: URL(fileURLWithPath: nullOdds)) }
        FileHandle.standardError.write(Data("\(answers.count) answers -> \(output)\n".utf8))
    }
}
