//! QR codes drawn on the server as inline SVG (the enrolment page's
//! `otpauth://` URI): no script, no image request, nothing for the CSP to
//! allow.

use qrcode::QrCode;
use qrcode::render::svg;

/// `text` as an `<svg>` element (medium error correction, quiet zone
/// included); `None` if it does not fit in a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let document = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // The renderer writes a standalone document; HTML wants the element.
    let start = document.find("<svg")?;
    Some(document[start..].to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_an_svg_and_refuses_what_does_not_fit() {
        let s = super::svg("otpauth://totp/Tern:a%40b.c?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(s.starts_with("<svg"), "{s}");
        assert!(s.contains("<path") || s.contains("<rect"));
        assert!(super::svg(&"x".repeat(5000)).is_none());
    }
}
