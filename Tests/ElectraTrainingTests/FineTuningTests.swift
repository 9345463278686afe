import Electra
import Foundation
import Testing

@testable import ElectraTraining

/// The training step, the fine-tuning loop, checkpoints/resume and the data readers.
struct FineTuningTests {
    static let modelFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ElectraTests/Fixtures/models").standardized

    func tempDir() -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("electra-ft-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Three training steps (forwardBackward + clip + AdamW, epsilon 1e-4) land on PyTorch's
    /// weights after every step (adamw_steps.safetensors, make_training_steps_fixture.py).
    /// With that epsilon the updates depend on the gradients' magnitude: the same run with
    /// every gradient doubled must miss, so this test sees a gradient off by a factor.
    @Test func adamWStepsMatchPyTorch() throws {
        let dir = Self.modelFixtures.appendingPathComponent("pretraining_relu_e30_h30")
        let fixture = try SafeTensorsFile(url: dir.appendingPathComponent("adamw_steps.safetensors"))
        let losses = try fixture.floatTensor("loss").scalars
        /// Worst difference over every tensor after every step, relative to that tensor's
        /// largest value after the step.
        func run(gradientScale: Float) throws -> (worst: Float, losses: [Float]) {
            // Weights are mapped copy-on-write: the optimizer's writes never reach the file.
            let (model, _) = try ElectraForPreTraining.load(from: dir.appendingPathComponent("model"))
            let inputs = try ElectraInputs.read(from: dir.appendingPathComponent("inputs.safetensors"))
            let opt = AdamW(parameters: model.parameters.uniqueParameters.map { ($0.name, $0.parameter) }, epsilon: 1e-4, weightDecay: 0.01)
            var worst: Float = 0, seen: [Float] = []
            for t in 0..<losses.count {
                model.parameters.zeroGradients()
                seen.append(try model.forwardBackward(inputs).loss!)
                Gradients.scale(model.parameters, by: gradientScale)
                _ = Gradients.clipGlobalNorm(model.parameters, maxNorm: 10)
                opt.step(learningRate: 1e-3)
                for (name, p) in model.parameters.uniqueParameters {
                    let want = try fixture.floatTensor("step\(t).\(name)").scalars
                    let scale = max(want.map(abs).max()!, 1e-12)
                    worst = max(worst, zip(p.value.scalars, want).map { abs($0 - $1) }.max()! / scale)
                }
            }
            return (worst, seen)
        }
        let exact = try run(gradientScale: 1)
        for (got, want) in zip(exact.losses, losses) { #expect(abs(got - want) <= 1e-5, "loss \(got) vs PyTorch \(want)") }
        #expect(exact.worst <= 1e-5, "worst relative parameter difference over \(losses.count) steps: \(exact.worst)")
        let doubled = try run(gradientScale: 2)
        #expect(doubled.worst > 10 * max(exact.worst, 1e-6), "doubled gradients: \(doubled.worst) vs \(exact.worst); the test cannot see magnitude")
        print("AdamW steps vs PyTorch: worst relative diff \(exact.worst); with doubled gradients \(doubled.worst)")
    }

    func tinySetup(dropout: Float = 0.1) throws -> (ElectraForSequenceClassification, EncodedClassificationSet) {
        var c = ElectraConfig()
        c.vocabSize = 30; c.embeddingSize = 8; c.hiddenSize = 16; c.numHiddenLayers = 2; c.numAttentionHeads = 2
        c.intermediateSize = 24; c.maxPositionEmbeddings = 16; c.setNumLabels(2)
        c.hiddenDropoutProb = dropout; c.attentionProbsDropoutProb = dropout
        let model = try ElectraForSequenceClassification(config: c, seed: 3)
        var rng = Xoshiro256(seed: 5)
        var ids: [[Int]] = [], labels: [Int] = []
        for _ in 0..<20 {
            let n = 3 + Int(rng.next() % 6)
            let seq = [1] + (0..<n).map { _ in 3 + Int(rng.next() % 27) } + [2]
            ids.append(seq)
            labels.append(seq.filter { $0 > 15 }.count > seq.count / 2 ? 1 : 0)
        }
        return (model, EncodedClassificationSet(ids: ids, typeIds: ids.map { $0.map { _ in 0 } }, labels: labels))
    }

    func options() -> TrainerOptions {
        var o = TrainerOptions()
        o.batchSize = 4; o.epochs = 2; o.learningRate = 1e-3; o.logSteps = 2
        return o
    }

    /// The classification task on the shared trainer, quiet.
    func trainer(_ m: ElectraForSequenceClassification, _ data: EncodedClassificationSet, validation: EncodedClassificationSet?,
                 options o: TrainerOptions, output: URL) throws -> Trainer {
        let t = try Trainer(task: SequenceClassificationTask(model: m, train: data, validation: validation, padId: 0), options: o, output: output)
        t.quiet = true
        return t
    }

    /// With the inference weight layout on, training reads [in, out] copies in every forward:
    /// each optimizer step marks its parameters changed, so the copies are rebuilt and the
    /// run ends on the same weights (and the same logits) as a run without them.
    @Test func inferenceWeightLayoutFollowsEveryOptimizerStep() throws {
        var weights: [[Float]] = [], logits: [[Float]] = []
        for layout in [false, true] {
            let (m, data) = try tinySetup()
            m.setInferenceWeightLayout(layout)
            let t = try trainer(m, data, validation: data, options: options(), output: tempDir())
            try t.run(resume: false)
            #expect((m.backbone.inferenceWeightLayoutBytes > 0) == layout)
            weights.append(m.parameters.uniqueParameters.flatMap { $0.parameter.value.scalars })
            logits.append(try m(ElectraInputs(ids: [[1, 5, 9, 2], [1, 20, 21, 2]])).logits!.scalars)
        }
        #expect(zip(weights[0], weights[1]).map { abs($0 - $1) }.max()! <= 1e-5)
        #expect(zip(logits[0], logits[1]).map { abs($0 - $1) }.max()! <= 1e-5)
    }

    /// Interrupt at a checkpoint, resume in a fresh process-like setup: same final weights
    /// as an uninterrupted run (shuffling and dropout on).
    @Test func resumeReproducesAnUninterruptedRun() throws {
        let (m1, data) = try tinySetup()
        let full = tempDir()
        let t1 = try trainer(m1, data, validation: data, options: options(), output: full)
        try t1.run(resume: false)

        // A fresh run whose output holds only the uninterrupted run's step-5 checkpoint
        // (what a run killed after step 5 leaves): resuming must reach the same weights.
        let part = tempDir()
        try FileManager.default.copyItem(at: full.appendingPathComponent("checkpoint-5"), to: part.appendingPathComponent("checkpoint-5"))
        let (m2, _) = try tinySetup()
        let t2 = try trainer(m2, data, validation: nil, options: options(), output: part)
        let s = try t2.run(resume: true)
        #expect(s.steps == 10)
        for (name, p) in m1.parameters.uniqueParameters {
            #expect(p.value.scalars == m2.parameters[name]!.value.scalars, "\(name) differs after resume")
        }
        // Restarting from step 5 without the saved optimizer and RNG state does not: the
        // comparison above can fail.
        let (m3, _) = try tinySetup()
        let t3 = try trainer(m3, data, validation: nil, options: options(), output: tempDir())
        try TrainerCheckpoints.restoreWeights(from: part.appendingPathComponent("checkpoint-5"), models: t3.task.models)
        try t3.run(resume: false)
        #expect(m3.parameters.uniqueParameters.first!.parameter.value.scalars != m1.parameters.uniqueParameters.first!.parameter.value.scalars)
    }

    @Test func trainingLearnsAndWritesItsArtifacts() throws {
        let (m, data) = try tinySetup(dropout: 0)
        let out = tempDir()
        var o = options()
        o.epochs = 15
        o.layerwiseDecay = 1
        let t = try trainer(m, data, validation: data, options: o, output: out)
        let before = try ClassificationEvaluation.run(m, data, batchSize: 8, padId: 0).metrics["loss"]!
        let s = try t.run(resume: false)
        #expect(s.metrics["loss"]! < before, "validation loss \(before) -> \(s.metrics["loss"]!)")
        for f in ["config.json", "model.safetensors", "metrics.jsonl", "training.svg", "checkpoint-75/optimizer.safetensors", "checkpoint-75/trainer_state.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "\(f) missing")
        }
        let log = MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))
        #expect(log.contains { $0["kind"]?.stringValue == "eval" } && log.contains { $0["kind"]?.stringValue == "train" })
        let reloaded = try ElectraForSequenceClassification.load(from: out)
        #expect(reloaded.report.missing.isEmpty && reloaded.model.config.architectures == ["ElectraForSequenceClassification"])
    }

    @Test func nonFiniteLossStopsWithAMessage() throws {
        let (m, data) = try tinySetup()
        m.outProj.weight.pointer[0] = .nan
        let t = try trainer(m, data, validation: nil, options: options(), output: tempDir())
        #expect { try t.run(resume: false) } throws: { "\($0)".contains("the loss became nan at step 1") }
    }

    @Test func tsvReaderDetectsGLUELayoutsAndReportsBadLines() throws {
        let d = tempDir()
        func write(_ name: String, _ text: String) throws -> URL {
            let u = d.appendingPathComponent(name)
            try text.write(to: u, atomically: true, encoding: .utf8)
            return u
        }
        let sst = try ClassificationTSV.read(try write("sst.tsv", "sentence\tlabel\ngood film\t1\nbad\t0\n"), layout: nil)
        #expect(sst.layout == .sst2 && sst.examples.map(\.label) == ["1", "0"])
        let cola = try ClassificationTSV.read(try write("cola.tsv", "gj04\t1\t\tThe sailors rode the breeze.\n"), layout: nil)
        #expect(cola.layout == .cola && cola.examples[0].text == "The sailors rode the breeze.")
        let mrpc = try ClassificationTSV.read(try write("mrpc.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA b.\tA c.\n"), layout: nil)
        #expect(mrpc.layout == .mrpc && mrpc.examples[0].pair == "A c.")
        let rte = try ClassificationTSV.read(try write("rte.tsv", "index\tsentence1\tsentence2\tlabel\n0\tx\ty\tentailment\n"), layout: nil)
        #expect(rte.layout == .rte && rte.examples[0].label == "entailment")
        let qqp = try ClassificationTSV.read(try write("qqp.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n0\t1\t2\tHow?\tWhy?\t0\n"), layout: nil)
        #expect(qqp.examples[0].text == "How?" && qqp.examples[0].pair == "Why?" && qqp.examples[0].label == "0")
        // The other GLUE headers: QNLI, MNLI (train's columns) and STS-B.
        for (name, header, row) in [
            ("qnli", "index\tquestion\tsentence\tlabel", "0\tA?\tB.\tentailment"),
            ("mnli", "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label",
             "0\t1\t2\tg\tp\tp\tp\tp\tA?\tB.\tneutral\tentailment"),
            ("stsb", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore", "0\tg\tf\t2012\t1\ts\ts\tA?\tB.\t4.2"),
        ] {
            let r = try ClassificationTSV.read(try write("\(name).tsv", header + "\n" + row + "\n"), layout: nil).examples[0]
            #expect(r.text == "A?" && r.pair == "B." && r.label == (name == "stsb" ? "4.2" : "entailment"), "\(name): \(r)")
        }
        #expect { _ = try ClassificationTSV.read(try write("bad.tsv", "sentence\tlabel\nonly-one-column\n"), layout: nil) } throws: { "\($0)".contains("bad.tsv:2") }
        #expect { _ = try ClassificationTSV.read(try write("empty.tsv", ""), layout: nil) } throws: { "\($0)".contains("empty") }
        #expect(ClassificationTSV.labelNames(rte.examples) == ["entailment"])
        // Written on Windows: CRLF line ends (one Character to Swift) and a byte-order mark.
        let windows = try ClassificationTSV.read(try write("win.tsv", "\u{FEFF}sentence\tlabel\r\ngood film\t1\r\nbad\t0\r\n"), layout: nil)
        #expect(windows.layout == .sst2 && windows.examples.map(\.text) == ["good film", "bad"] && windows.examples.map(\.label) == ["1", "0"])
        #expect(windows.examples.map(\.line) == [2, 3])
        let choices = try MultipleChoiceFile.read(try write("mc.jsonl", """
            {"context": "a", "choices": ["x", "y"], "label": 1}\r
            {"context": "b", "choices": ["z", "w"], "label": 0}\r

            """))
        #expect(choices.map(\.context) == ["a", "b"] && choices.map(\.label) == [1, 0])
        #expect(ClassificationTSV.labelNames([TextExample(text: "", label: "10", line: 1), TextExample(text: "", label: "9", line: 2)]) == ["9", "10"])
    }

    /// Labels that are numbers, some not whole (STS-B's scores), train a regression without
    /// --num-labels 1, as run_glue does for a float column; whole numbers and names classify.
    @Test func floatLabelsMeanRegression() throws {
        func rows(_ labels: [String]) -> [TextExample] { labels.enumerated().map { TextExample(text: "t", label: $1, line: $0 + 1) } }
        let scores = try SequenceClassificationSetup(base: ElectraConfig(), train: rows(["4.2", "0.0", "3"]), file: "stsb.tsv",
                                                     numLabels: nil, dropout: nil, layout: nil)
        #expect(scores.isRegression && scores.inferredRegression && scores.config.numLabels == 1)
        let ints = try SequenceClassificationSetup(base: ElectraConfig(), train: rows(["0", "1", "1"]), file: "x.tsv", numLabels: nil, dropout: nil, layout: nil)
        #expect(!ints.isRegression && ints.labelIds == ["0": 0, "1": 1])
        let asked = try SequenceClassificationSetup(base: ElectraConfig(), train: rows(["0", "1"]), file: "x.tsv", numLabels: 1, dropout: nil, layout: nil)
        #expect(asked.isRegression && !asked.inferredRegression)
        #expect(throws: ElectraError.self) {
            _ = try SequenceClassificationSetup(base: ElectraConfig(), train: rows(["4.2", "0.5"]), file: "x.tsv", numLabels: 3, dropout: nil, layout: nil)
        }
    }

    @Test func metricsMatchTheirDefinitions() {
        let y = [1, 1, 0, 0, 1, 0], p = [1, 0, 0, 1, 1, 0]
        #expect(ClassificationMetrics.accuracy(predictions: p, labels: y) == 4.0 / 6)
        #expect(abs(ClassificationMetrics.f1(predictions: p, labels: y) - 2.0 / 3) < 1e-12)
        #expect(abs(ClassificationMetrics.matthews(predictions: p, labels: y) - 1.0 / 3) < 1e-12)  // sklearn: 0.3333
        #expect(ClassificationMetrics.matthews(predictions: [1, 1, 1], labels: [1, 0, 1]) == 0)
        #expect(abs(ClassificationMetrics.spearman([1, 2, 3, 4], [10, 20, 20, 40]) - 0.9486832980505138) < 1e-9)
        #expect(abs(ClassificationMetrics.pearson([1, 2, 3], [2, 4, 7]) - 0.9933992677987828) < 1e-9)
    }
}

extension FineTuningTests {
    /// Two micro-batches of 2 accumulated equal one batch of 4 (dropout off, no shuffle):
    /// same weights after the run.
    @Test func gradientAccumulationEqualsTheLargerBatch() throws {
        var o = options()
        o.shuffle = false
        o.epochs = 1
        let (m1, data) = try tinySetup(dropout: 0)
        o.batchSize = 4
        let t1 = try trainer(m1, data, validation: nil, options: o, output: tempDir())
        try t1.run(resume: false)
        let (m2, _) = try tinySetup(dropout: 0)
        o.batchSize = 2
        o.gradientAccumulation = 2
        let t2 = try trainer(m2, data, validation: nil, options: o, output: tempDir())
        #expect(t2.totalSteps == t1.totalSteps)
        try t2.run(resume: false)
        var worst: Float = 0
        for (name, p) in m1.parameters.uniqueParameters {
            worst = max(worst, zip(p.value.scalars, m2.parameters[name]!.value.scalars).map { abs($0 - $1) }.max()!)
        }
        // Batches pad differently (2 vs 4 rows), so equal up to float rounding.
        #expect(worst < 1e-4, "max difference \(worst)")
    }
}
