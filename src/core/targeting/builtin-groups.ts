// The two groups every WSUS has, with the GUIDs admins and scripts already know.
export const ALL_COMPUTERS_ID = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421';
export const UNASSIGNED_COMPUTERS_ID = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';
export const ALL_COMPUTERS_NAME = 'All Computers';
export const UNASSIGNED_COMPUTERS_NAME = 'Unassigned Computers';
