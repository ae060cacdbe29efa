//! Storage classes: one blob backend per class, behind one `Backend`. STANDARD blobs keep their plain
//! locators (`ab/cd/<uuid>`); a blob of another class is named `CLASS:ab/cd/<uuid>`, so every reader, deleter
//! and the orphan sweep find the bytes from the locator alone, wherever the object's class put them.

use std::io;
use std::sync::Arc;

use crate::{Backend, BlobEntry, BlobInfo, ByteStream};

/// The class every store has; its blobs live in the default backend.
pub const STANDARD: &str = "STANDARD";

/// Routes blobs to the backend of their storage class.
pub struct ClassedBackend {
    standard: Arc<dyn Backend>,
    classes: Vec<(String, Arc<dyn Backend>)>,
}

/// Whether `name` can name a class (AWS's class names: upper-case letters, digits, `_`).
pub fn valid_class_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The storage class a locator's blob lives in.
pub fn class_of(locator: &str) -> &str {
    locator.split_once(':').map_or(STANDARD, |(c, _)| c)
}

impl ClassedBackend {
    /// `standard` for STANDARD, and one backend per other class.
    pub fn new(standard: Arc<dyn Backend>, classes: Vec<(String, Arc<dyn Backend>)>) -> Self {
        ClassedBackend { standard, classes }
    }

    fn class(&self, name: &str) -> io::Result<&Arc<dyn Backend>> {
        if name == STANDARD {
            return Ok(&self.standard);
        }
        self.classes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("storage class {name} is not configured"),
                )
            })
    }

    /// The backend and its own locator for a stored locator.
    fn route<'a>(&self, locator: &'a str) -> io::Result<(&Arc<dyn Backend>, &'a str)> {
        match locator.split_once(':') {
            None => Ok((&self.standard, locator)),
            Some((class, inner)) => Ok((self.class(class)?, inner)),
        }
    }
}

#[async_trait::async_trait]
impl Backend for ClassedBackend {
    fn name(&self) -> &'static str {
        self.standard.name()
    }
    fn direct_io(&self) -> bool {
        self.standard.direct_io()
    }
    async fn put(&self, body: ByteStream) -> io::Result<BlobInfo> {
        self.standard.put(body).await
    }
    async fn put_in(&self, class: &str, body: ByteStream) -> io::Result<BlobInfo> {
        if class == STANDARD {
            return self.standard.put(body).await;
        }
        let info = self.class(class)?.put(body).await?;
        Ok(BlobInfo {
            locator: format!("{class}:{}", info.locator),
            size: info.size,
        })
    }
    async fn get(&self, locator: &str, range: Option<(u64, u64)>) -> io::Result<ByteStream> {
        let (b, inner) = self.route(locator)?;
        b.get(inner, range).await
    }
    async fn get_processed(
        &self,
        locator: &str,
        range: (u64, u64),
        pieces: crate::Pieces,
        process: Box<dyn crate::Process>,
    ) -> io::Result<ByteStream> {
        let (b, inner) = self.route(locator)?;
        b.get_processed(inner, range, pieces, process).await
    }
    async fn delete(&self, locator: &str) -> io::Result<()> {
        let (b, inner) = self.route(locator)?;
        b.delete(inner).await
    }
    async fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let mut out = self.standard.list().await?;
        for (class, b) in &self.classes {
            out.extend(b.list().await?.into_iter().map(|e| BlobEntry {
                locator: format!("{class}:{}", e.locator),
                modified: e.modified,
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;
    use futures::TryStreamExt as _;

    fn body(b: &'static [u8]) -> ByteStream {
        Box::pin(futures::stream::once(async move {
            Ok(bytes::Bytes::from_static(b))
        }))
    }

    #[tokio::test]
    async fn blobs_go_to_their_class_and_are_found_by_locator() {
        let std: Arc<dyn Backend> = Arc::new(MemoryBackend::default());
        let cold: Arc<dyn Backend> = Arc::new(MemoryBackend::default());
        let r = ClassedBackend::new(Arc::clone(&std), vec![("COLD".into(), Arc::clone(&cold))]);
        let a = r
            .put_in(STANDARD, body(b"a"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let c = r
            .put_in("COLD", body(b"c"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(class_of(&a.locator), STANDARD);
        assert_eq!(class_of(&c.locator), "COLD");
        assert_eq!(std.list().await.map(|l| l.len()).ok(), Some(1));
        assert_eq!(cold.list().await.map(|l| l.len()).ok(), Some(1));
        let got: Vec<bytes::Bytes> = r
            .get(&c.locator, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .try_collect()
            .await
            .unwrap_or_default();
        assert_eq!(got.concat(), b"c");
        let mut listed: Vec<String> = r
            .list()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.locator)
            .collect();
        listed.sort();
        let mut want = vec![a.locator.clone(), c.locator.clone()];
        want.sort();
        assert_eq!(listed, want);
        assert!(r.put_in("NOPE", body(b"x")).await.is_err());
        r.delete(&c.locator).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cold.list().await.map(|l| l.len()).ok(), Some(0));
        assert!(
            valid_class_name("DEEP_ARCHIVE") && !valid_class_name("cold") && !valid_class_name("")
        );
    }
}
