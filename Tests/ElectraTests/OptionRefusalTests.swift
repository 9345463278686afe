import Foundation
import Testing

@testable import Electra

/// Options a command's path does not read are refused, naming them, rather than silently
/// ignored; out-of-range values are errors. Each case fails before any work starts.
extension CLITests {
    @Test func optionsThePathDoesNotReadAreRefused() throws {
        let w = try workspace()
        let model = w.model.path
        let cases: [([String], String)] = [
            // finetune: another task's options
            (finetuneArgs(w, tmp.appendingPathComponent("f1")) + ["--tag-column", "1"], "--tag-column does not apply to --task sequence-classification"),
            (finetuneArgs(w, tmp.appendingPathComponent("f2")) + ["--task", "token-classification", "--num-labels", "3", "--doc-stride", "64"],
             "--doc-stride, --num-labels do not apply to --task token-classification"),
            (finetuneArgs(w, tmp.appendingPathComponent("f3")) + ["--lr-schedule", "constant", "--warmup", "0.2"], "--lr-schedule constant has no warmup"),
            (finetuneArgs(w, tmp.appendingPathComponent("f4")) + ["--no-header"], "--no-header needs --text-column"),
            // predict / evaluate: options of another task or path
            (["predict", "--model", model, "--aggregation-strategy", "simple", "a text"], "--aggregation-strategy does not apply to sequence classification"),
            (["predict", "--model", model, "--input", "x.conll", "a text"], "--input does not apply to sequence classification"),
            (["predict", "--model", model, "--task", "question-answering", "--question", "q?"], "--question needs --context"),
            (["predict", "--model", model, "--task", "question-answering", "--question", "q?", "--context", "c", "--null-odds", "o.json"],
             "--null-odds does not apply to answering --question"),
            (["predict", "--model", model, "--task", "question-answering", "--input", "d.json", "--output", "p.json", "--top-k", "2"],
             "--top-k does not apply to question answering of a SQuAD file"),
            (["predict", "--model", model, "--task", "token-classification", "--max-length", "64", "a text"],
             "--max-length does not apply to token classification of text"),
            (["predict", "--model", model, "--task", "token-classification", "--file", "t.txt", "--output", "o.txt"], "--output does not apply to token classification of text"),
            (["predict", "--model", model, "--task", "multiple-choice", "--file", "m.jsonl", "--json"], "--json does not apply to multiple choice"),
            (["evaluate", "--model", model, "--data", "d.tsv", "--tag-column", "2"], "--tag-column does not apply to evaluating --task sequence-classification"),
            (["evaluate", "--model", model, "--task", "question-answering", "--data", "d.json", "--max-answer-length", "0"], "--max-answer-length must be positive"),
            // pretrain: rtd options with mlm, validation options without --validation
            (["pretrain", "--data", "d", "--output", "o", "--objective", "mlm", "--temperature", "2"], "--temperature does not apply to --objective mlm"),
            (["pretrain", "--data", "d", "--output", "o", "--eval-steps", "5"], "--eval-steps does not apply to a run without --validation"),
            // bench, tokenize
            (["bench", "--iterations", "0", "--min-seconds", "0"], "--iterations must be at least 1"),
            (["bench", "--train", "--pretrain"], "pass --train or --pretrain, not both"),
            (["bench", "--batch-size", "8"], "--batch-size does not apply to forward passes"),
            (["tokenize", "--tokenizer", model, "--max-length", "8", "--no-truncation"], "pass --max-length or --no-truncation, not both"),
            (["tokenize", "--tokenizer", model, "--truncation", "only_second"], "--truncation needs --max-length"),
            (["tokenize", "--tokenizer", model, "--padding", "longest", "--pad-to-multiple-of", "0"], "--pad-to-multiple-of must be at least 1"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: tmp.appendingPathComponent("f1").path))
    }

    /// fill-mask says which targets are not vocabulary entries and what stands for them (HF warns too).
    @Test func fillMaskNamesTargetsOutsideTheVocabulary() throws {
        let r = try run(["fill-mask", "the [MASK] sat on the mat", "--target", "cat", "--target", "catapultish"])
        #expect(r.status == 0 && r.stderr.contains("target 'catapultish' is not in the vocabulary; its first token 'cat' stands for it"), "\(r.stderr)")
        #expect(!r.stderr.contains("target 'cat' "), "\(r.stderr)")
    }
}
