-- MFA enrollments carried over from a legacy system (the login script's
-- profile) or an import file, in Auth0's `mfa_factors` shape, as JSON text;
-- NULL when the user has none. Kept so that no enrollment is lost in the
-- migration, whether or not MFA is turned on yet.
ALTER TABLE users ADD COLUMN mfa_factors TEXT;
