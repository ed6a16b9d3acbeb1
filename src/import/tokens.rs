//! Text to token ids with the model's own tokenizer: `tokenizer.json` (any pipeline the
//! `tokenizers` crate reads: BERT WordPiece, GPT-2 byte-level BPE), else BERT's `vocab.txt`
//! (lower-casing WordPiece with `[CLS] … [SEP]`, as `BertTokenizer` does by default).

use std::path::Path;

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{Model, Tokenizer};

use crate::error::InputError;

/// The ids and the tokens' strings (for the system file's comment).
pub struct Tokenized {
    pub ids: Vec<u32>,
    pub pieces: Vec<String>,
    /// The tokenizer file used.
    pub source: String,
}

pub fn tokenize(dir: &Path, text: &str) -> Result<Tokenized, InputError> {
    let json = dir.join("tokenizer.json");
    let vocab = dir.join("vocab.txt");
    let (tk, path) = if json.exists() {
        let mut tk = Tokenizer::from_file(&json).map_err(|e| InputError::new(&json, "", format!("cannot read the tokenizer: {e}")))?;
        // A tokenizer.json may pad every input to a fixed length (MiniLM's pads to 128 with
        // [PAD]) or truncate it: the system gets the text's own tokens, nothing added or cut.
        tk.with_padding(None);
        tk.with_truncation(None).map_err(|e| InputError::new(&json, "", format!("cannot switch truncation off: {e}")))?;
        (tk, json)
    } else if vocab.exists() {
        (wordpiece(&vocab)?, vocab)
    } else {
        return Err(InputError::new(dir, "", "no tokenizer: neither tokenizer.json nor vocab.txt is in the model directory (or give --tokens)"));
    };
    let enc = tk.encode(text, true).map_err(|e| InputError::new(&path, "", format!("cannot tokenize the text: {e}")))?;
    Ok(Tokenized { ids: enc.get_ids().to_vec(), pieces: enc.get_tokens().to_vec(), source: path.display().to_string() })
}

fn wordpiece(vocab: &Path) -> Result<Tokenizer, InputError> {
    let bad = |why: String| InputError::new(vocab, "", why);
    let path = vocab.to_str().ok_or_else(|| bad("the path is not UTF-8".into()))?;
    let model = WordPiece::from_file(path).build().map_err(|e| bad(format!("cannot read the vocabulary: {e}")))?;
    let id = |t: &str| model.get_vocab().get(t).copied().ok_or_else(|| bad(format!("the vocabulary has no {t} token")));
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    let mut tk = Tokenizer::new(model);
    tk.with_normalizer(Some(BertNormalizer::default()));
    tk.with_pre_tokenizer(Some(BertPreTokenizer));
    tk.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), sep), ("[CLS]".into(), cls))));
    Ok(tk)
}
