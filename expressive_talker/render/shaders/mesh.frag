#version 330 core
// The face shader's pixel stage: gamma 2.2 on the interpolated linear colour (see mesh.vert).

in vec4 linear_color;
out vec4 frag_color;

void main()
{
    frag_color = clamp(vec4(pow(linear_color.rgb, vec3(1.0 / 2.2)), linear_color.a), 0.0, 1.0);
}
