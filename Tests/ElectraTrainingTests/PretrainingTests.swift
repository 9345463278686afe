import Electra
import ElectraKernels
import ElectraTokenizers
import Foundation
import Testing

@testable import ElectraTraining

/// Replaced-token-detection pretraining: packing, data preparation, masking, sampling, the
/// shared generator/discriminator pair, the two training passes, and resume.
struct PretrainingTests {
    let ft = FineTuningTests()

    /// A WordPiece vocabulary for the test corpus: specials at BERT's ids' order, then words.
    static let words = ["the", "cat", "dog", "sat", "on", "a", "mat", "ran", "far", "away", "and", "then", "slept",
                        "bird", "sang", "loud", "in", "tree", "sun", "rose", "early", "day", "was", "warm", "."]

    func tokenizerFolder() throws -> URL {
        let dir = ft.tempDir()
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + Self.words
        try (vocab.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Documents of 3-6 lines of 2-9 words, a blank line between documents.
    func corpus(documents: Int, seed: UInt64 = 9) -> String {
        var rng = Xoshiro256(seed: seed)
        var text = ""
        for d in 0..<documents {
            if d > 0 { text += "\n" }
            for _ in 0..<(3 + Int(rng.next() % 4)) {
                let n = 2 + Int(rng.next() % 8)
                text += (0..<n).map { _ in Self.words[Int(rng.next() % UInt64(Self.words.count - 1))] }.joined(separator: " ") + " .\n"
            }
        }
        return text
    }

    // MARK: Collapse warning

    /// The collapse warning: once, after `patience` steps in a row without a detection; a
    /// detection restarts the count; steps with nothing replaced do not count.
    @Test func collapseWarningComesOnceAfterTheStretch() {
        var w = CollapseWatch()
        w.patience = 5
        let dead: [String: Double] = ["recall": 0, "replaced_fraction": 0.14, "discriminator_auc": 0.53]
        let alive: [String: Double] = ["recall": 0.1, "replaced_fraction": 0.14]
        for _ in 0..<4 { #expect(w.observe(dead) == nil) }
        #expect(w.observe(alive) == nil)
        #expect(w.observe(["recall": 0, "replaced_fraction": 0]) == nil)
        for _ in 0..<4 { #expect(w.observe(dead) == nil) }
        let message = w.observe(dead)
        #expect(message?.hasPrefix("the discriminator has flagged no replaced token for 5 steps (AUC 0.53)") == true)
        #expect(message?.contains("--start-temperature") == true)
        for _ in 0..<10 { #expect(w.observe(dead) == nil) }
    }

    // MARK: Packing

    /// Lines of document d use ids 1000 d + ..., so every example shows where its tokens came from.
    @Test func packingNeverMixesDocumentsAndKeepsTheLayout() {
        var rng = Xoshiro256(seed: 1)
        var b = ExampleBuilder(maxLength: 32, clsId: 2, sepId: 3, seed: 7)
        var examples: [PackedExample] = []
        var fed = 0
        for d in 0..<40 {
            for _ in 0..<(1 + Int(rng.next() % 8)) {
                let line = (0..<(1 + Int(rng.next() % 12))).map { _ in Int32(1000 * (d + 1) + Int(rng.next() % 100)) }
                fed += line.count
                if let e = b.add(line[...], blank: false) { examples.append(e) }
            }
            if let e = b.add([], blank: true) { examples.append(e) }
        }
        #expect(examples.count > 40)
        // Every token fed is in an example or counted as cut (the line crossing the target).
        let kept = examples.reduce(0) { $0 + $1.ids.filter { $0 != 2 && $0 != 3 }.count }
        #expect(b.droppedTokens > 0 && kept + b.droppedTokens == fed, "\(kept) + \(b.droppedTokens) != \(fed)")
        // One line longer than an example: its first 30 tokens kept, the other 70 counted as cut.
        var long = ExampleBuilder(maxLength: 32, clsId: 2, sepId: 3, seed: 7)
        let e = long.add((0..<100).map { Int32(100 + $0) }[...], blank: false)
        #expect(e?.ids.count == 32 && long.droppedTokens == 70)
        var singleSegment = 0, short = 0
        for e in examples {
            #expect(e.ids.count <= 32 && e.ids.first == 2 && e.ids.last == 3)
            #expect(e.ids[e.firstSegmentEnd - 1] == 3)
            let body = e.ids.filter { $0 != 2 && $0 != 3 }
            #expect(Set(body.map { $0 / 1000 }).count == 1, "an example holds two documents: \(e.ids)")
            if e.firstSegmentEnd == e.ids.count { singleSegment += 1 } else { #expect(e.ids.filter { $0 == 3 }.count == 2) }
            if e.ids.count < 16 { short += 1 }
        }
        #expect(singleSegment > 0 && singleSegment < examples.count)
        #expect(short > 0)
        // Deterministic for a seed, different for another.
        func run(_ seed: UInt64) -> [PackedExample] {
            var b = ExampleBuilder(maxLength: 32, clsId: 2, sepId: 3, seed: seed)
            var out: [PackedExample] = []
            for i in 0..<300 { if let e = b.add((0..<(i % 11)).map { Int32(100 + $0) }[...], blank: i % 17 == 0) { out.append(e) } }
            return out
        }
        #expect(run(3) == run(3))
        #expect(run(3) != run(4))
    }

    // MARK: Data preparation

    func prepare(_ text: String, name: String = "corpus.txt", tokenizer: URL, threads: Int? = nil, block: Int = 16_384,
                 perShard: Int = 100_000, maxLength: Int = 32) throws -> (URL, PretrainingManifest) {
        let src = ft.tempDir().appendingPathComponent(name)
        try Data(text.utf8).write(to: src)
        return try prepare(file: src, tokenizer: tokenizer, threads: threads, block: block, perShard: perShard, maxLength: maxLength)
    }

    func prepare(file: URL, tokenizer: URL, threads: Int? = nil, block: Int = 16_384, perShard: Int = 100_000,
                 maxLength: Int = 32) throws -> (URL, PretrainingManifest) {
        var p = DataPreparation(tokenizer: try ElectraTokenizer.load(directory: tokenizer))
        p.maxSeqLength = maxLength
        p.threads = threads
        p.linesPerBlock = block
        p.examplesPerShard = perShard
        let out = ft.tempDir()
        return (out, try p.run(inputs: [file], into: out))
    }

    func examples(_ folder: URL) throws -> [PackedExample] {
        let d = try PretrainingData(folder: folder)
        return (0..<d.exampleCount).map { i in
            let (ids, end) = d.example(i)
            return PackedExample(ids: Array(ids), firstSegmentEnd: end)
        }
    }

    /// The same examples whatever the thread count, block size or shard size, read back as
    /// the packer made them, and equal to packing the tokenized lines directly.
    @Test func preparedDataIsDeterministicAndReadsBack() throws {
        let tok = try tokenizerFolder()
        let text = corpus(documents: 60)
        let (a, m) = try prepare(text, tokenizer: tok, threads: 1)
        let (b, _) = try prepare(text, tokenizer: tok, threads: 2, block: 7, perShard: 13)
        let ea = try examples(a), eb = try examples(b)
        #expect(ea == eb && !ea.isEmpty)
        #expect(m.examples == ea.count && m.tokens == ea.reduce(0) { $0 + $1.ids.count })
        #expect(m.lines == text.split(separator: "\n", omittingEmptySubsequences: false).count - 1)
        #expect(m.documents == 60)
        #expect(try PretrainingData(folder: b).manifest.shards.count == (ea.count + 12) / 13)

        let t = try ElectraTokenizer.load(directory: tok)
        var builder = ExampleBuilder(maxLength: 32, clsId: t.clsTokenId, sepId: t.sepTokenId, seed: 12345)
        var direct: [PackedExample] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let ids = try t.encode(String(line), addSpecialTokens: false).ids.map(Int32.init)
            if let e = builder.add(ids[...], blank: line.isEmpty) { direct.append(e) }
        }
        if let e = builder.add([], blank: true) { direct.append(e) }
        #expect(direct == ea)
    }

    @Test func compressedInputReadsLikeText() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") || FileManager.default.isExecutableFile(atPath: "/bin/gzip") else {
            print("skipped: gzip is not installed")
            return
        }
        let tok = try tokenizerFolder()
        let text = corpus(documents: 20)
        let dir = ft.tempDir()
        let plain = dir.appendingPathComponent("c.txt")
        try Data(text.utf8).write(to: plain)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-k", plain.path]
        try p.run()
        p.waitUntilExit()
        let (a, _) = try prepare(file: plain, tokenizer: tok)
        let (b, _) = try prepare(file: dir.appendingPathComponent("c.txt.gz"), tokenizer: tok)
        #expect(try examples(a) == examples(b))
        // A corrupt archive is an error naming the file.
        let bad = dir.appendingPathComponent("bad.gz")
        try Data("not gzip at all".utf8).write(to: bad)
        #expect(throws: ElectraError.self) { try prepare(file: bad, tokenizer: tok) }
    }

    @Test func invalidUTF8LinesAreSkippedAndCounted() throws {
        let tok = try tokenizerFolder()
        var bytes = Array(corpus(documents: 5).utf8)
        bytes += [0x63, 0x61, 0xFF, 0x74, 0x0A] + [0xC3, 0x0A]  // two broken lines
        bytes += Array(corpus(documents: 3, seed: 2).utf8)
        let src = ft.tempDir().appendingPathComponent("mixed.txt")
        try Data(bytes).write(to: src)
        let (_, m) = try prepare(file: src, tokenizer: tok)
        #expect(m.invalidUtf8Lines == 2)
        #expect(m.examples > 0)
    }

    @Test func corpusWithoutATwoTokenLineIsRefused() throws {
        let tok = try tokenizerFolder()
        for text in ["", "\n\n\n", "cat\n\ndog\n"] {
            #expect(throws: ElectraError.self) { try prepare(text, tokenizer: tok) }
        }
        let missing = ft.tempDir().appendingPathComponent("nope.txt")
        #expect(throws: ElectraError.self) { try prepare(file: missing, tokenizer: tok) }
    }

    // MARK: Masking and sampling

    func syntheticData(count: Int, length: Int, vocab: Int = 30, seed: UInt64 = 4) -> PretrainingData {
        var rng = Xoshiro256(seed: seed)
        let examples = (0..<count).map { _ -> PackedExample in
            let n = length / 2 + Int(rng.next() % UInt64(length / 2 - 2))
            var ids: [Int32] = [2]
            for k in 1..<(n - 1) { ids.append(k == n / 2 ? 3 : Int32(5 + rng.next() % UInt64(vocab - 5))) }
            ids.append(3)
            return PackedExample(ids: ids, firstSegmentEnd: n / 2 + 1)
        }
        return PretrainingData(examples: examples, maxSeqLength: length, vocabSize: vocab)
    }

    let special = SpecialIds(cls: 2, sep: 3, mask: 4, pad: 0, vocabSize: 30)

    @Test func maskingFollowsTheRecipe() {
        let data = syntheticData(count: 400, length: 64)
        var rng = Xoshiro256(seed: 1)
        let mb = data.maskedBatch(Array(0..<400)[...], options: MaskingOptions(), special: special, rng: &rng)
        var perRow = [Int](repeating: 0, count: 400), masks = 0
        for (j, p) in mb.positions.enumerated() {
            #expect(![2, 3, 0].contains(mb.original[p]) && mb.attentionMask[p] == 1)
            #expect(mb.targets[j] == mb.original[p])
            perRow[p / mb.length] += 1
            if mb.masked[p] == 4 { masks += 1 } else { #expect(mb.masked[p] == mb.original[p]) }
        }
        for row in 0..<400 {
            let tokens = (0..<mb.length).filter { mb.attentionMask[row * mb.length + $0] == 1 }.count
            #expect(perRow[row] == max(1, min(9, Int((Double(tokens) * 0.15).rounded()))))
        }
        // Unmasked positions are untouched; 85% of the chosen become [MASK].
        let chosen = Set(mb.positions)
        #expect((0..<mb.masked.count).allSatisfy { chosen.contains($0) || mb.masked[$0] == mb.original[$0] })
        let share = Double(masks) / Double(mb.positions.count)
        #expect(abs(share - 0.85) < 0.03, "share of [MASK]: \(share)")
    }

    @Test func samplesFollowTheSoftmax() {
        // Probabilities 1/7, 2/7, 4/7; at temperature 2: 1/(1+√2+2), √2/..., 2/...
        let row: [Float] = [0, log(2), log(4)]
        let n = 30_000
        let logits = Array(repeating: row, count: n).flatMap { $0 }
        var rng = Xoshiro256(seed: 3)
        let uniforms = (0..<n).map { _ in rng.nextUniform() }
        for (t, want) in [(Float(1), [1.0 / 7, 2.0 / 7, 4.0 / 7]), (2, [1 / (3 + 2.0.squareRoot()), 2.0.squareRoot() / (3 + 2.0.squareRoot()), 2 / (3 + 2.0.squareRoot())])] {
            let (samples, argmax) = sampleCategorical(logits: logits, rows: n, classes: 3, temperature: t, uniforms: uniforms)
            for c in 0..<3 {
                let freq = Double(samples.filter { $0 == c }.count) / Double(n)
                #expect(abs(freq - want[c]) < 0.012, "temperature \(t) class \(c): \(freq) vs \(want[c])")
            }
            #expect(argmax.allSatisfy { $0 == 2 })
            #expect(sampleCategorical(logits: logits, rows: n, classes: 3, temperature: t, uniforms: uniforms).samples == samples)
        }
    }

    @Test func aucCountsRankedPairs() {
        #expect(rankAUC([(0.1, false), (0.9, true)]) == 1)
        #expect(rankAUC([(0.9, false), (0.1, true)]) == 0)
        #expect(rankAUC([(0.5, false), (0.5, true)]) == 0.5)
        #expect(rankAUC([(0.1, false), (0.4, true), (0.45, false), (0.8, true)]) == 0.75)
        #expect(rankAUC([(0.1, false)]) == 0.5)
    }

    // MARK: The generator and discriminator

    func tinyPair(vocab: Int = 30, dropout: Float = 0) throws -> (ElectraForPreTraining, ElectraForMaskedLM) {
        var d = ElectraConfig()
        d.vocabSize = vocab; d.embeddingSize = 12; d.hiddenSize = 16; d.numHiddenLayers = 2; d.numAttentionHeads = 2
        d.intermediateSize = 24; d.maxPositionEmbeddings = 64
        d.hiddenDropoutProb = dropout; d.attentionProbsDropoutProb = dropout
        var g = try PretrainingPreset.generatorConfig(discriminator: d, size: 0.5)
        g.numAttentionHeads = 2
        return try PretrainingModels.build(discriminator: d, generator: g, seed: 5)
    }

    @Test func generatorSharesTheEmbeddingsByIdentity() throws {
        let (d, g) = try tinyPair()
        for name in PretrainingModels.sharedNames { #expect(d.parameters[name]! === g.parameters[name]!, "\(name)") }
        #expect(g.lmHead.weight === d.backbone.embeddings.word)
        #expect(d.parameters["electra.embeddings_project.weight"]! !== g.parameters["electra.embeddings_project.weight"]!)
        #expect(g.config.hiddenSize == 8 && g.config.intermediateSize == 32 && g.config.embeddingSize == 12)
        // The paper's small generator: hidden 64, 1 head, FFN 256.
        let small = try PretrainingPreset.generatorConfig(discriminator: try PretrainingPreset.named("small").discriminator, size: 0.25)
        #expect(small.hiddenSize == 64 && small.numAttentionHeads == 1 && small.intermediateSize == 256)
        #expect(throws: ElectraError.self) { try PretrainingPreset.named("huge") }
    }

    func grads(_ m: any ElectraHeadModel) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: m.parameters.uniqueParameters.map { ($0.name, $0.parameter.grad?.scalars ?? []) })
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    /// Logits only at the masked positions give HF's masked-LM loss and gradients (labels at
    /// those positions, -100 elsewhere), scaled by the loss weight.
    @Test func maskedPositionPassEqualsTheFullMaskedLM() throws {
        let (_, g) = try tinyPair()
        var x = ElectraInputs(ids: [[2, 7, 9, 11, 3, 13, 3], [2, 15, 4, 4, 3, 0, 0]])
        x.attentionMask = IntTensor(shape: [2, 7], values: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        let positions = [2, 5, 9, 10], targets = [8, 20, 16, 17]
        var labels = [Int](repeating: -100, count: 14)
        for (p, t) in zip(positions, targets) { labels[p] = t }
        var full = x
        full.labels = IntTensor(shape: [2, 7], values: labels)
        g.parameters.zeroGradients()
        let want = try g.forwardBackward(full)
        let wantGrads = grads(g)
        g.parameters.zeroGradients()
        var seen: [Float] = []
        let loss = try g.maskedLMForwardBackward(x, positions: positions, targets: targets, lossScale: 3, dropout: nil) { logits, rows, classes in
            seen = Array(UnsafeBufferPointer(start: logits, count: rows * classes))
        }
        #expect(abs(loss - want.loss!) < 1e-5)
        let fullLogits = want.logits!.scalars
        for (j, p) in positions.enumerated() { #expect(maxDiff(Array(seen[(j * 30)..<((j + 1) * 30)]), Array(fullLogits[(p * 30)..<((p + 1) * 30)])) < 1e-5) }
        for (name, w) in wantGrads {
            let got = grads(g)[name]!
            #expect(maxDiff(got, w.map { 3 * $0 }) <= 1e-5 * max(1, w.map(abs).max()! * 3), "\(name)")
        }
        #expect(throws: ElectraError.self) { try g.maskedLMForwardBackward(x, positions: [2, 2], targets: [1, 1], dropout: nil) }
        #expect(throws: ElectraError.self) { try g.maskedLMForwardBackward(x, positions: [], targets: [], dropout: nil) }
    }

    @Test func discriminatorLossScaleScalesItsGradients() throws {
        let (d, _) = try tinyPair()
        var x = ElectraInputs(ids: [[2, 7, 9, 11, 3], [2, 15, 4, 8, 3]])
        x.labels = IntTensor(shape: [2, 5], values: [0, 1, 0, 0, 0, 0, 0, 1, 1, 0])
        d.parameters.zeroGradients()
        let one = try d.forwardBackward(x, lossScale: 1, dropout: nil)
        let g1 = grads(d)
        d.parameters.zeroGradients()
        let fifty = try d.forwardBackward(x, lossScale: 50, dropout: nil)
        #expect(one.loss == fifty.loss)
        for (name, w) in g1 { #expect(maxDiff(grads(d)[name]!, w.map { 50 * $0 }) <= 1e-4 * max(1, 50 * w.map(abs).max()!), "\(name)") }
    }

    /// One RTD step's gradient of every shared embedding is the generator's plus the
    /// discriminator's (each weighted), and the discriminator reads the samples.
    @Test func rtdStepSumsTheSharedGradients() throws {
        let (d, g) = try tinyPair()
        let data = syntheticData(count: 6, length: 16)
        let task = ReplacedTokenDetectionTask(generator: g, discriminator: d, data: data, masking: MaskingOptions(), special: special, seed: 1)
        let table = ParameterTable()
        for m in task.models { for (n, p) in m.model.parameters.uniqueParameters where !table.entries.contains(where: { $0.parameter === p }) { table.register("\(m.folder)/\(n)", p) } }
        let before = task.batches.rng
        table.zeroGradients()
        let r = try task.trainingStep(Array(0..<6)[...], dropout: DropoutContext(seed: 1))
        let word = d.backbone.embeddings.word
        let together = word.grad!.scalars
        #expect(r.metrics["replaced_fraction"]! >= 0 && r.metrics["precision"] != nil)
        #expect(abs(r.loss - (r.metrics["generator_loss"]! + 50 * r.metrics["discriminator_loss"]!)) < 1e-4)

        // The same step by hand, one model at a time.
        var rng = before
        let mb = data.maskedBatch(Array(0..<6)[...], options: MaskingOptions(), special: special, rng: &rng)
        let uniforms = (0..<mb.positions.count).map { _ in rng.nextUniform() }
        table.zeroGradients()
        var samples: [Int] = []
        _ = try g.maskedLMForwardBackward(mb.inputs(ids: mb.masked), positions: mb.positions, targets: mb.targets, dropout: nil) { l, rows, classes in
            samples = sampleCategorical(logits: l, rows: rows, classes: classes, temperature: 1, uniforms: uniforms).samples
        }
        let fromGenerator = word.grad!.scalars
        table.zeroGradients()
        var ids = mb.original, labels = [Int](repeating: 0, count: ids.count)
        for (j, p) in mb.positions.enumerated() { ids[p] = samples[j]; labels[p] = samples[j] != mb.original[p] ? 1 : 0 }
        _ = try d.forwardBackward(mb.inputs(ids: ids, labels: labels), lossScale: 50, dropout: nil)
        let fromDiscriminator = word.grad!.scalars
        let sum = zip(fromGenerator, fromDiscriminator).map { $0 + $1 }
        #expect(maxDiff(together, sum) <= 1e-4 * max(1, sum.map(abs).max()!))
        #expect(fromGenerator.contains { $0 != 0 } && fromDiscriminator.contains { $0 != 0 })
        #expect(Double(labels.reduce(0, +)) / Double(mb.tokens) == r.metrics["replaced_fraction"]!)
    }

    // MARK: Training runs

    func rtdTrainer(_ output: URL, steps: Int, saveSteps: Int, hidden: Int = 16) throws -> (Trainer, ReplacedTokenDetectionTask) {
        var (d, g) = try tinyPair(dropout: 0.1)
        if hidden != 16 {
            var c = d.config
            c.hiddenSize = hidden
            (d, g) = try PretrainingModels.build(discriminator: c, generator: g.config, seed: 5)
        }
        let task = ReplacedTokenDetectionTask(generator: g, discriminator: d, data: syntheticData(count: 24, length: 16),
                                              masking: MaskingOptions(), special: special, seed: 1)
        var o = TrainerOptions()
        o.batchSize = 4; o.maxSteps = steps; o.saveSteps = saveSteps; o.learningRate = 1e-3; o.layerwiseDecay = 1; o.logSteps = 2
        let t = try Trainer(task: task, options: o, output: output)
        t.quiet = true
        return (t, task)
    }

    func allWeights(_ t: ReplacedTokenDetectionTask) -> [Float] {
        t.models.flatMap { $0.model.parameters.uniqueParameters.flatMap { $0.parameter.value.scalars } }
    }

    /// Stopped at a checkpoint and resumed (the masking and sampling generator included), the
    /// run reaches the uninterrupted run's weights; a resume with another model shape is refused.
    @Test func rtdResumeReproducesAnUninterruptedRun() throws {
        let full = ft.tempDir()
        let (t1, task1) = try rtdTrainer(full, steps: 8, saveSteps: 4)
        try t1.run(resume: false)
        let want = allWeights(task1)
        for f in ["discriminator", "generator"] {
            #expect(FileManager.default.fileExists(atPath: full.appendingPathComponent("\(f)/model.safetensors").path))
            #expect(FileManager.default.fileExists(atPath: full.appendingPathComponent("checkpoint-4/\(f)/model.safetensors").path))
        }
        let log = MetricsLog.read(full.appendingPathComponent("metrics.jsonl"))
        #expect(log.contains { $0["generator_masked_accuracy"] != nil && $0["recall"] != nil })
        let svg = try String(contentsOf: full.appendingPathComponent("training.svg"), encoding: .utf8)
        #expect(svg.contains("discriminator_loss") && svg.contains("precision"))

        let part = ft.tempDir()
        try FileManager.default.copyItem(at: full.appendingPathComponent("checkpoint-4"), to: part.appendingPathComponent("checkpoint-4"))
        let (t2, task2) = try rtdTrainer(part, steps: 8, saveSteps: 4)
        #expect(try t2.run(resume: true).steps == 8)
        #expect(allWeights(task2) == want)

        // The masking and sampling draws come from (seed, step, micro-batch) alone
        // (MicroBatchSeed): without the task's saved generator state the resume is the same.
        let noState = ft.tempDir()
        try FileManager.default.copyItem(at: full.appendingPathComponent("checkpoint-4"), to: noState.appendingPathComponent("checkpoint-4"))
        let stateURL = noState.appendingPathComponent("checkpoint-4/trainer_state.json")
        var json = try JSONValue.parse(Data(contentsOf: stateURL), source: "state").objectValue!
        json["task"] = .object([:])
        try JSONValue.object(json).serialized(pretty: true).write(to: stateURL)
        let (t3, task3) = try rtdTrainer(noState, steps: 8, saveSteps: 4)
        try t3.run(resume: true)
        #expect(allWeights(task3) == want)

        let other = ft.tempDir()
        try FileManager.default.copyItem(at: full.appendingPathComponent("checkpoint-4"), to: other.appendingPathComponent("checkpoint-4"))
        let (t4, _) = try rtdTrainer(other, steps: 8, saveSteps: 4, hidden: 24)
        #expect { try t4.run(resume: true) } throws: { ($0 as? ElectraError)?.message.contains("hidden_size") == true }
    }

    /// A tiny RTD run with a 1.5 s budget and an unbounded schedule (sized from its speed).
    func maxTimeTrainer(_ out: URL, saveSteps: Int) throws -> Trainer {
        let (d, g) = try tinyPair()
        let task = ReplacedTokenDetectionTask(generator: g, discriminator: d, data: syntheticData(count: 24, length: 16),
                                              masking: MaskingOptions(), special: special, seed: 1)
        var o = TrainerOptions()
        o.batchSize = 4; o.epochs = 1_000_000; o.maxTime = 1.5; o.layerwiseDecay = 1; o.saveSteps = saveSteps
        let t = try Trainer(task: task, options: o, output: out)
        t.quiet = true
        return t
    }

    /// --max-time: the schedule is sized from the first steps, the run ends in time with its
    /// models saved.
    @Test func maxTimeEndsTheRunWithModelsSaved() throws {
        let out = ft.tempDir()
        let t = try maxTimeTrainer(out, saveSteps: 1_000_000)
        let started = Date()
        let s = try t.run(resume: false)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(s.steps > 6 && t.totalSteps < 1_000_000 * t.stepsPerEpoch)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("generator/config.json").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint-\(s.steps)").path))
    }

    /// A resumed --max-time run spends only what its earlier sessions left of the budget:
    /// checkpoints record the run's elapsed seconds, and a checkpoint whose budget is spent
    /// resumes for one step and stops.
    @Test func resumedMaxTimeRunCountsEarlierSessions() throws {
        let out = ft.tempDir()
        func trainer() throws -> Trainer { try maxTimeTrainer(out, saveSteps: 8) }
        let first = try trainer().run(resume: false)
        try #require(first.steps > 9)
        let ckpt = out.appendingPathComponent("checkpoint-8/trainer_state.json")
        var json = try JSONValue.parse(Data(contentsOf: ckpt), source: "state").objectValue!
        let recorded = try #require(json["elapsed_seconds"]?.doubleValue)
        #expect(recorded > 0 && recorded < first.seconds)
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) where name.hasPrefix("checkpoint-") && name != "checkpoint-8" {
            try FileManager.default.removeItem(at: out.appendingPathComponent(name))
        }
        json["elapsed_seconds"] = .number(100)
        try JSONValue.object(json).serialized(pretty: true).write(to: ckpt)
        let resumed = try trainer().run(resume: true)
        #expect(resumed.steps == 9)
        #expect(resumed.seconds >= 100)
    }

    /// The whole loop learns something in 400 steps of a tiny pair. Each text repeats one
    /// word: the generator's loss falls (it learns which words occur), and the discriminator
    /// ranks the replaced tokens above the others (AUC well above chance) with a loss below
    /// where it started. Precision and recall at 0.5 stay 0 this early, as they do in
    /// PyTorch (docs/pretraining.md), which is why the AUC is logged.
    @Test func rtdLearnsOnATextWithAKnownVocabulary() throws {
        var rng = Xoshiro256(seed: 11)
        let examples = (0..<256).map { _ -> PackedExample in
            let word = Int32(5 + rng.next() % 25)
            var ids: [Int32] = [2]
            for _ in 0..<14 { ids.append(word) }
            ids.append(3)
            return PackedExample(ids: ids, firstSegmentEnd: ids.count)
        }
        let data = PretrainingData(examples: examples, maxSeqLength: 16, vocabSize: 30)
        var d = ElectraConfig()
        d.vocabSize = 30; d.embeddingSize = 32; d.hiddenSize = 32; d.numHiddenLayers = 2; d.numAttentionHeads = 2
        d.intermediateSize = 64; d.maxPositionEmbeddings = 16; d.hiddenDropoutProb = 0; d.attentionProbsDropoutProb = 0
        var g = try PretrainingPreset.generatorConfig(discriminator: d, size: 0.5)
        g.numAttentionHeads = 2
        let (disc, gen) = try PretrainingModels.build(discriminator: d, generator: g, seed: 3)
        var masking = MaskingOptions()
        masking.maskProbability = 0.3
        let task = ReplacedTokenDetectionTask(generator: gen, discriminator: disc, data: data, masking: masking, special: special, seed: 2)
        var o = TrainerOptions()
        o.batchSize = 16; o.maxSteps = 400; o.learningRate = 3e-3; o.layerwiseDecay = 1; o.logSteps = 20; o.saveSteps = 1_000_000
        let out = ft.tempDir()
        let t = try Trainer(task: task, options: o, output: out)
        t.quiet = true
        try t.run(resume: false)
        let log = MetricsLog.read(out.appendingPathComponent("metrics.jsonl")).filter { $0["kind"]?.stringValue == "train" }
        func value(_ r: [String: JSONValue], _ k: String) -> Double { r[k]!.doubleValue! }
        let first = log.first!, last = log.last!
        for r in log where value(r, "step") == 400 { print("step \(value(r, "step")): generator [MASK]ed accuracy \(value(r, "generator_masked_accuracy")) loss \(value(r, "generator_loss")), discriminator loss \(value(r, "discriminator_loss")) AUC \(value(r, "discriminator_auc")) precision \(value(r, "precision")) recall \(value(r, "recall")) replaced \(value(r, "replaced_fraction"))") }
        #expect(value(last, "generator_loss") < value(first, "generator_loss") - 0.1)
        #expect(value(last, "discriminator_loss") < value(first, "discriminator_loss"))
        let lateAUC = log.suffix(3).map { value($0, "discriminator_auc") }.reduce(0, +) / 3
        // Over the trainer's seeds 1, 2, 3 and 42: 0.77, 0.57, 0.63, 0.59 (200 steps gave
        // 0.44-0.58: too early to rank replacements reliably).
        #expect(lateAUC > 0.56, "discriminator AUC \(lateAUC)")
    }
}
