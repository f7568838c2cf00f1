//! Column and table options that must differ per database to mean the same thing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// A UTC instant with microseconds. MySQL's `TIMESTAMP` ends in 2038 and its
/// bare `DATETIME` drops fractions, so it gets `DATETIME(6)`.
pub fn instant<T: IntoIden>(backend: DbBackend, name: T) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match backend {
        DbBackend::MySql => column.custom("DATETIME(6)"),
        _ => column.date_time(),
    };
    column
}

/// Bytes of any length a proof may need. MySQL's `BLOB` stops at 64 KiB, so
/// it gets `MEDIUMBLOB` (16 MiB); the others' binary types have no small limit.
pub fn bytes<T: IntoIden>(backend: DbBackend, name: T) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match backend {
        DbBackend::MySql => column.custom("MEDIUMBLOB"),
        _ => column.blob(),
    };
    column
}

/// Table options: on MySQL, InnoDB (for foreign keys and transactions) and a
/// binary collation, so that uniqueness compares exactly as on the other two
/// databases instead of ignoring case, accents and trailing spaces.
pub fn table_options(backend: DbBackend, table: &mut TableCreateStatement) -> TableCreateStatement {
    if backend == DbBackend::MySql {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_bin");
    }
    table.take()
}

/// Adds to `table` each of `columns` it does not have yet: a database made by
/// the original application, or by an earlier version, gains them in place.
pub async fn add_missing_columns<T: Iden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: Vec<(T, ColumnDef)>,
) -> Result<(), DbErr> {
    for (name, mut column) in columns {
        if !manager
            .has_column(&table.to_string(), name.to_string())
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
    }
    Ok(())
}
