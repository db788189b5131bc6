//! Imports started from the console (see `console_import`).

use crate::CoreResult;
use crate::console_import::ConsoleImport;

/// Storing the console's imports: one document per upload.
#[async_trait::async_trait]
pub trait ConsoleImportStore: Send + Sync {
    /// Create or replace an import's document.
    async fn put_console_import(&self, tenant: &str, import: &ConsoleImport) -> CoreResult<()>;
    /// One import.
    async fn get_console_import(&self, tenant: &str, id: &str)
    -> CoreResult<Option<ConsoleImport>>;
    /// The newest imports, newest first.
    async fn list_console_imports(
        &self,
        tenant: &str,
        limit: u64,
    ) -> CoreResult<Vec<ConsoleImport>>;
}
