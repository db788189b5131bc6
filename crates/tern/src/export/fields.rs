//! `--fields a,b,c` and `--field name=export_as` turned into the export
//! job's `fields` list. The server checks the paths and the format's rules
//! (so its messages reach the person); here only the flags' own syntax.

use tern_core::model::ExportField;

/// `NAME=EXPORT_AS` of a `--field` flag.
pub fn parse_rename(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, alias)) if !name.trim().is_empty() && !alias.trim().is_empty() => {
            Ok((name.trim().to_string(), alias.trim().to_string()))
        }
        _ => Err(format!(
            "{s:?} is not NAME=EXPORT_AS (e.g. user_metadata.plan=plan)"
        )),
    }
}

/// The fields in order: the `--fields` names, then each `--field` rename
/// applied to the field of that name, or appended when it is not listed.
/// Empty when neither flag is given: the server's default set.
pub fn field_list(
    names: &[String],
    renames: &[(String, String)],
) -> Result<Vec<ExportField>, String> {
    let mut fields = Vec::with_capacity(names.len() + renames.len());
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            return Err("--fields has an empty name (two commas in a row?)".into());
        }
        fields.push(ExportField {
            name: name.to_string(),
            export_as: None,
        });
    }
    for (name, alias) in renames {
        match fields.iter_mut().find(|f| &f.name == name) {
            Some(f) => f.export_as = Some(alias.clone()),
            None => fields.push(ExportField {
                name: name.clone(),
                export_as: Some(alias.clone()),
            }),
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn renames_apply_in_place_or_append() {
        let renames = [
            parse_rename("email=Email address").unwrap(),
            parse_rename("user_metadata.plan=plan").unwrap(),
        ];
        let got = field_list(&names(&["user_id", "email"]), &renames).unwrap();
        let pairs: Vec<(&str, Option<&str>)> = got
            .iter()
            .map(|f| (f.name.as_str(), f.export_as.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("user_id", None),
                ("email", Some("Email address")),
                ("user_metadata.plan", Some("plan"))
            ]
        );
        assert!(field_list(&[], &[]).unwrap().is_empty());
        assert!(field_list(&names(&["email", " "]), &[]).is_err());
    }

    #[test]
    fn renames_need_both_sides() {
        assert_eq!(
            parse_rename("identities[0].connection=provider").unwrap(),
            ("identities[0].connection".into(), "provider".into())
        );
        for bad in ["email", "=x", "email=", ""] {
            assert!(parse_rename(bad).is_err(), "{bad}");
        }
    }
}
